package state

import (
	"fmt"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its first or next attempt
	DeliveryDelivered = "delivered" // the callback answered 2xx
	DeliveryDead      = "dead"      // retries exhausted, or the callback is gone (410)
)

// Delivery is one event to POST to one subscription's callback.
type Delivery struct {
	ID             string // webhook-id: DeliveryID(SubscriptionID, EventID), stable across retries, restarts and resends
	SubscriptionID string
	Seq            uint64 // position in the subscription's queue; a resend gets a new one
	EventID        string
	Type           string
	Payload        []byte
	CatchUpNote    string // non-empty when a catch-up bound cut events before this one
	Status         string // DeliveryPending, DeliveryDelivered or DeliveryDead
	Attempts       []Attempt
	// RoundAttempts counts the attempts since the delivery last entered the queue (CommitFeed or
	// Resend): the retry schedule applies to them, not to attempts before a resend.
	RoundAttempts int
	NextAttemptAt time.Time // meaningful while pending
	CreatedAt     time.Time // when CommitFeed queued it
	DeliveredAt   time.Time // when an attempt got 2xx
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At         time.Time     `json:"at"`
	StatusCode int           `json:"status_code,omitempty"` // 0 when no response arrived
	Error      string        `json:"error,omitempty"`       // transport error or a short description of the failure
	Duration   time.Duration `json:"duration_ns"`
}

// Outcome is what RecordAttempt does with a delivery after an attempt.
// Delivered, RetryAt, Dead and Disable build the four valid ones.
type Outcome struct {
	// Status is the delivery's new status: DeliveryDelivered,
	// DeliveryPending (retry later) or DeliveryDead.
	Status string
	// NextAttemptAt is when to retry; required with DeliveryPending.
	NextAttemptAt time.Time
	// DisableReason, with DeliveryDead, also disables the subscription
	// with this reason.
	DisableReason string
	// Endpoint, when set, is the callback endpoint's new state, written in
	// the same transaction (the deliverer's circuit breaker).
	Endpoint *Endpoint
}

// Delivered marks the delivery delivered: the next one of its subscription
// becomes the head of the queue.
func Delivered() Outcome { return Outcome{Status: DeliveryDelivered} }

// RetryAt keeps the delivery pending, and at the head of its queue, until t.
func RetryAt(t time.Time) Outcome { return Outcome{Status: DeliveryPending, NextAttemptAt: t} }

// Dead dead-letters the delivery (retries exhausted): the queue moves on.
func Dead() Outcome { return Outcome{Status: DeliveryDead} }

// Disable dead-letters the delivery and disables its subscription with the
// given reason (the callback answered 410 Gone), in the same transaction.
func Disable(reason string) Outcome { return Outcome{Status: DeliveryDead, DisableReason: reason} }

// Validate checks that o was built by Delivered, RetryAt, Dead or Disable (or equivalent).
// Errors: ErrInvalid.
func (o Outcome) Validate() error {
	switch {
	case o.Status != DeliveryDelivered && o.Status != DeliveryPending && o.Status != DeliveryDead:
		return fmt.Errorf("%w: outcome status %q", ErrInvalid, o.Status)
	case o.Status == DeliveryPending && o.NextAttemptAt.IsZero():
		return fmt.Errorf("%w: a retry needs a next attempt time", ErrInvalid)
	case o.Status != DeliveryDead && o.DisableReason != "":
		return fmt.Errorf("%w: only a dead delivery disables its subscription", ErrInvalid)
	}
	return nil
}

// AttemptRecord is one attempt to record with its outcome (RecordAttempts).
type AttemptRecord struct {
	SubscriptionID string
	Seq            uint64
	Attempt        Attempt
	Outcome        Outcome
}

func (h *Health) recordFailure(a Attempt) {
	h.LastFailureAt = a.At
	h.ConsecutiveFailures++
	switch {
	case a.Error != "" && a.StatusCode != 0:
		h.LastFailure = fmt.Sprintf("HTTP %d: %s", a.StatusCode, a.Error)
	case a.Error != "":
		h.LastFailure = a.Error
	default:
		h.LastFailure = fmt.Sprintf("HTTP %d", a.StatusCode)
	}
}
