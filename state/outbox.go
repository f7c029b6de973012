package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
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

// deliveryRecord is the stored form of a Delivery; the key holds Seq and
// the bucket the subscription id.
type deliveryRecord struct {
	ID            string    `json:"id"`
	EventID       string    `json:"event_id"`
	Type          string    `json:"type"`
	Payload       []byte    `json:"payload"`
	CatchUpNote   string    `json:"catch_up_note,omitempty"`
	Status        string    `json:"status"`
	Attempts      []Attempt `json:"attempts,omitempty"`
	RoundAttempts int       `json:"round_attempts,omitempty"` // since schema version 2
	NextAttemptAt time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time `json:"created_at"`
	DeliveredAt   time.Time `json:"delivered_at"`
	// QueuedAt is when the delivery last entered the queue (CommitFeed or
	// Resend); it grows with Seq, which lets Prune stop early.
	QueuedAt time.Time `json:"queued_at"`
}

// DueDeliveries returns, for each active subscription, the head of its queue
// (its pending delivery with the lowest Seq) when that head is due
// (NextAttemptAt ≤ now). Delivery N+1 of a subscription is never returned
// while N is pending, so callbacks see events in order. The result holds at
// most limit deliveries (limit ≤ 0: no limit), the longest-waiting first.
//
// It reads only the pending index and the due heads, never delivered history.
// Errors: only storage failures.
func (s *Store) DueDeliveries(now time.Time, limit int) ([]Delivery, error) {
	var due []Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		type head struct {
			subID string
			seq   uint64
			at    time.Time
		}
		var heads []head
		subs := tx.Bucket(bucketSubscriptions)
		err := tx.Bucket(bucketPending).ForEachBucket(func(subID []byte) error {
			k, v := tx.Bucket(bucketPending).Bucket(subID).Cursor().First()
			if k == nil {
				return nil
			}
			at := valueTime(v)
			if at.After(now) {
				return nil
			}
			raw := subs.Get(subID)
			if raw == nil {
				return nil
			}
			var status struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal(raw, &status); err != nil {
				return fmt.Errorf("decode subscription %q: %w", subID, err)
			}
			if status.Status != StatusActive {
				return nil
			}
			heads = append(heads, head{subID: string(subID), seq: binary.BigEndian.Uint64(k), at: at})
			return nil
		})
		if err != nil {
			return err
		}
		sort.Slice(heads, func(i, j int) bool {
			if !heads[i].at.Equal(heads[j].at) {
				return heads[i].at.Before(heads[j].at)
			}
			return heads[i].subID < heads[j].subID
		})
		if limit > 0 && len(heads) > limit {
			heads = heads[:limit]
		}
		for _, h := range heads {
			rec, err := getDelivery(tx, h.subID, h.seq)
			if err != nil {
				return err
			}
			due = append(due, rec.delivery(h.subID, h.seq))
		}
		return nil
	})
	if err != nil {
		return nil, wrapTx("due deliveries", err)
	}
	return due, nil
}

// RecordAttempt appends attempt a to the pending delivery (subID, seq) and
// applies the outcome, updating the subscription's Health, in one
// transaction. Attempts beyond the newest 100 are dropped from the record.
//
// Errors: ErrNotFound when the subscription or delivery is gone (e.g. deleted
// during the attempt); ErrNotPending when the delivery is already finished;
// ErrInvalid for an Outcome not built by Delivered, RetryAt, Dead or Disable
// (or equivalent).
func (s *Store) RecordAttempt(subID string, seq uint64, a Attempt, outcome Outcome) error {
	if err := outcome.validate(); err != nil {
		return fmt.Errorf("state: record attempt: %w", err)
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	a.At = a.At.UTC()
	err := s.db.Update(func(tx *bolt.Tx) error {
		sub, err := getSubscription(tx, subID)
		if err != nil {
			return err
		}
		rec, err := getDelivery(tx, subID, seq)
		if err != nil {
			return err
		}
		if rec.Status != DeliveryPending {
			return fmt.Errorf("%w: delivery %s is %s", ErrNotPending, rec.ID, rec.Status)
		}
		rec.Attempts = append(rec.Attempts, a)
		rec.RoundAttempts++
		if n := len(rec.Attempts); n > maxAttemptsKept {
			rec.Attempts = rec.Attempts[n-maxAttemptsKept:]
		}
		rec.Status = outcome.Status
		switch outcome.Status {
		case DeliveryDelivered:
			rec.DeliveredAt = a.At
			rec.NextAttemptAt = time.Time{}
			sub.Health.LastDeliveredAt = a.At
			sub.Health.ConsecutiveFailures = 0
		case DeliveryPending:
			rec.NextAttemptAt = outcome.NextAttemptAt.UTC()
			sub.Health.recordFailure(a)
		case DeliveryDead:
			rec.NextAttemptAt = time.Time{}
			sub.Health.recordFailure(a)
			sub.Health.DeadLettered++
			if outcome.DisableReason != "" {
				sub.Status, sub.StatusReason = StatusDisabled, outcome.DisableReason
			}
		}
		if err := putDelivery(tx, subID, seq, rec); err != nil {
			return err
		}
		if rec.Status == DeliveryPending {
			err = setPending(tx, subID, seq, rec.NextAttemptAt)
		} else {
			err = clearPending(tx, subID, seq)
		}
		if err != nil {
			return err
		}
		return putSubscription(tx.Bucket(bucketSubscriptions), sub)
	})
	return wrapTx("record attempt", err)
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

func (rec *deliveryRecord) delivery(subID string, seq uint64) Delivery {
	return Delivery{
		ID: rec.ID, SubscriptionID: subID, Seq: seq, EventID: rec.EventID, Type: rec.Type,
		Payload: rec.Payload, CatchUpNote: rec.CatchUpNote, Status: rec.Status,
		Attempts: rec.Attempts, RoundAttempts: rec.RoundAttempts, NextAttemptAt: rec.NextAttemptAt, CreatedAt: rec.CreatedAt,
		DeliveredAt: rec.DeliveredAt,
	}
}

// outboxBuckets returns the log and ids buckets of a subscription, or nils
// when it has no outbox yet.
func outboxBuckets(tx *bolt.Tx, subID string) (log, ids *bolt.Bucket) {
	box := tx.Bucket(bucketOutbox).Bucket([]byte(subID))
	if box == nil {
		return nil, nil
	}
	return box.Bucket(bucketOutboxLog), box.Bucket(bucketOutboxIDs)
}

// createOutboxBuckets is outboxBuckets for writers: it creates them.
func createOutboxBuckets(tx *bolt.Tx, subID string) (log, ids *bolt.Bucket, err error) {
	box, err := tx.Bucket(bucketOutbox).CreateBucketIfNotExists([]byte(subID))
	if err != nil {
		return nil, nil, err
	}
	if log, err = box.CreateBucketIfNotExists(bucketOutboxLog); err != nil {
		return nil, nil, err
	}
	if ids, err = box.CreateBucketIfNotExists(bucketOutboxIDs); err != nil {
		return nil, nil, err
	}
	return log, ids, nil
}

func getDelivery(tx *bolt.Tx, subID string, seq uint64) (*deliveryRecord, error) {
	log, _ := outboxBuckets(tx, subID)
	if log == nil {
		return nil, fmt.Errorf("%w: delivery %s/%d", ErrNotFound, subID, seq)
	}
	v := log.Get(u64Key(seq))
	if v == nil {
		return nil, fmt.Errorf("%w: delivery %s/%d", ErrNotFound, subID, seq)
	}
	return decodeDelivery(subID, seq, v)
}

// decodeDelivery copies everything out of v (json.Unmarshal does).
func decodeDelivery(subID string, seq uint64, v []byte) (*deliveryRecord, error) {
	var rec deliveryRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode delivery %s/%d: %w", subID, seq, err)
	}
	return &rec, nil
}

func putDelivery(tx *bolt.Tx, subID string, seq uint64, rec *deliveryRecord) error {
	log, _, err := createOutboxBuckets(tx, subID)
	if err != nil {
		return err
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode delivery %s/%d: %w", subID, seq, err)
	}
	return log.Put(u64Key(seq), v)
}

func setPending(tx *bolt.Tx, subID string, seq uint64, at time.Time) error {
	pending, err := tx.Bucket(bucketPending).CreateBucketIfNotExists([]byte(subID))
	if err != nil {
		return err
	}
	return pending.Put(u64Key(seq), timeValue(at))
}

// clearPending removes seq from the pending index, and the subscription's
// index bucket when it empties, so DueDeliveries visits only subscriptions
// with work.
func clearPending(tx *bolt.Tx, subID string, seq uint64) error {
	parent := tx.Bucket(bucketPending)
	pending := parent.Bucket([]byte(subID))
	if pending == nil {
		return nil
	}
	if err := pending.Delete(u64Key(seq)); err != nil {
		return err
	}
	if k, _ := pending.Cursor().First(); k == nil {
		return parent.DeleteBucket([]byte(subID))
	}
	return nil
}
