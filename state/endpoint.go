package state

import "time"

// Endpoint is the delivery state of one callback endpoint (a callback URL,
// keyed by webhook.EndpointOf), kept across restarts for the deliverer's
// circuit breaker and shown to subscribers.
type Endpoint struct {
	Key string `json:"key"`
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// OpenedAt is when the circuit opened; zero while it is closed.
	OpenedAt time.Time `json:"opened_at,omitzero"`
	// ProbeStep counts the probes sent while open; NextProbeAt is when the
	// next may go.
	ProbeStep   int       `json:"probe_step,omitempty"`
	NextProbeAt time.Time `json:"next_probe_at,omitzero"`
	// FailingSince is the first failure after the last success.
	FailingSince  time.Time `json:"failing_since,omitzero"`
	LastSuccessAt time.Time `json:"last_success_at,omitzero"`
	LastFailureAt time.Time `json:"last_failure_at,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
}

// Open reports whether the circuit is open.
func (e Endpoint) Open() bool { return !e.OpenedAt.IsZero() }
