package state

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Endpoint is the delivery state of one callback endpoint (scheme, host and
// port: webhook.EndpointOf), kept across restarts for the deliverer's circuit
// breaker and shown to subscribers.
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

// Endpoint returns the stored state of the endpoint key; ok is false when
// none is stored (it never failed). Errors: only storage failures.
func (s *Store) Endpoint(key string) (Endpoint, bool, error) {
	var ep Endpoint
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketEndpoints).Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &ep)
	})
	if err != nil {
		return Endpoint{}, false, wrapTx("endpoint", err)
	}
	return ep, found, nil
}

func putEndpoint(tx *bolt.Tx, ep Endpoint) error {
	if !validID(ep.Key) {
		return fmt.Errorf("%w: endpoint key must be 1 to %d bytes", ErrInvalid, maxIDLength)
	}
	v, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketEndpoints).Put([]byte(ep.Key), v)
}

// DisableEndpoint disables, with reason, every active or paused subscription
// whose callback URL is on endpoint key (it failed for too long), and
// returns how many. Errors: only storage failures.
func (s *Store) DisableEndpoint(key, reason string) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		subs := tx.Bucket(bucketSubscriptions)
		var changed []*SubscriptionRecord
		err := subs.ForEach(func(k, v []byte) error {
			rec, err := decodeSubscription(k, v)
			if err != nil {
				return err
			}
			if (rec.Status == StatusActive || rec.Status == StatusPaused) && webhook.EndpointOf(rec.CallbackURL) == key {
				rec.Status, rec.StatusReason = StatusDisabled, reason
				changed = append(changed, rec)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, rec := range changed {
			if err := putSubscription(subs, rec); err != nil {
				return err
			}
		}
		n = len(changed)
		return nil
	})
	return n, wrapTx("disable endpoint", err)
}
