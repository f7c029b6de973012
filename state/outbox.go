package state

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
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

func (o Outcome) validate() error {
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

// RecordAttempt appends attempt a to the pending delivery (subID, seq) and
// applies the outcome, updating the subscription's Health (and the endpoint's
// state, when the outcome carries one), in one transaction. Attempts beyond
// the newest 100 are dropped from the record.
//
// Errors: ErrNotFound when the subscription or delivery is gone (e.g. deleted
// during the attempt); ErrNotPending when the delivery is already finished;
// ErrInvalid for an Outcome not built by Delivered, RetryAt, Dead or Disable
// (or equivalent).
func (s *Store) RecordAttempt(subID string, seq uint64, a Attempt, outcome Outcome) error {
	return s.RecordAttempts([]AttemptRecord{{SubscriptionID: subID, Seq: seq, Attempt: a, Outcome: outcome}})[0]
}

// RecordAttempts records many attempts, as RecordAttempt does each, in ONE
// transaction: the deliverer's group commit, so that fsyncs do not grow with
// attempts per second. It returns one error per record, in order: the errors
// of RecordAttempt for that record (the others are still written), or the
// transaction's error for every record when the commit itself fails.
func (s *Store) RecordAttempts(records []AttemptRecord) []error {
	errs := make([]error, len(records))
	for i := range records {
		if err := records[i].Outcome.validate(); err != nil {
			errs[i] = fmt.Errorf("state: record attempt: %w", err)
		}
		if records[i].Attempt.At.IsZero() {
			records[i].Attempt.At = s.now()
		}
		records[i].Attempt.At = records[i].Attempt.At.UTC()
	}
	err := s.update(func(tx *bolt.Tx) error {
		subs := map[string]*SubscriptionRecord{}
		dirty := map[string]bool{} // the subscriptions whose record changed
		for i, r := range records {
			if errs[i] != nil {
				continue
			}
			sub := subs[r.SubscriptionID]
			if sub == nil {
				var err error
				if sub, err = s.loadSubscription(tx, r.SubscriptionID); err != nil {
					errs[i] = wrapTx("record attempt", err)
					continue
				}
				subs[r.SubscriptionID] = sub
			}
			changed, err := recordAttempt(tx, sub, r)
			if err != nil {
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotPending) {
					errs[i] = wrapTx("record attempt", err)
					continue
				}
				return err
			}
			if changed {
				dirty[sub.ID] = true
			}
		}
		for id := range dirty {
			if err := putSubscription(tx.Bucket(bucketSubscriptions), subs[id]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = wrapTx("record attempt", err)
			}
		}
	}
	return errs
}

// recordAttempt applies one record to its delivery, its indexes, sub's
// Health and the endpoint, inside tx, and reports whether sub's record
// changed (and must be written). Errors: ErrNotFound, ErrNotPending (nothing
// is written for the record), or a storage failure.
func recordAttempt(tx *bolt.Tx, sub *SubscriptionRecord, r AttemptRecord) (bool, error) {
	a, outcome := r.Attempt, r.Outcome
	log := openSubLog(tx, sub.ID)
	rec, queued, err := log.get(r.Seq)
	if err != nil {
		return false, err
	}
	if rec.Status != DeliveryPending {
		return false, fmt.Errorf("%w: delivery %s is %s", ErrNotPending, rec.ID, rec.Status)
	}
	changed := rec.ApplyAttempt(sub, a, outcome)
	if err := log.put(r.Seq, queued, rec); err != nil {
		return false, err
	}
	if rec.Status == DeliveryPending {
		err = schedule(tx, sub, r.Seq, queued, rec.NextAttemptAt)
	} else {
		err = unschedule(tx, sub, r.Seq, queued)
	}
	if err != nil {
		return false, err
	}
	if outcome.Endpoint != nil {
		return changed, putEndpoint(tx, *outcome.Endpoint)
	}
	return changed, nil
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

// getDelivery reads and decodes delivery seq of subID. Errors: ErrNotFound; a record that does
// not decode.
func getDelivery(tx *bolt.Tx, subID string, seq uint64) (*DeliveryRecord, error) {
	rec, _, err := openSubLog(tx, subID).get(seq)
	return rec, err
}
