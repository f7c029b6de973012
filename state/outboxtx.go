package state

import (
	"errors"
	"fmt"
	"time"
)

// OutboxTx is one read-write transaction of a backend as the rules every backend shares see it:
// recording attempts (RecordAttemptsIn), recovering what failed (RecoverIn) and resending
// (ResendIn). A backend implements it over its own layout (bbolt buckets, etcd keys); what a
// delivery's attempt does to its record, its subscription's health, its queue and its endpoint is
// written once, here.
type OutboxTx interface {
	// Subscription reads a subscription's record, which the caller may change.
	// Errors: ErrNotFound; storage failures.
	Subscription(id string) (*SubscriptionRecord, error)
	// PutSubscription writes a subscription's record.
	PutSubscription(rec *SubscriptionRecord) error
	// Delivery reads delivery seq of subscription subID, which the caller may change.
	// Errors: ErrNotFound; storage failures.
	Delivery(subID string, seq uint64) (*DeliveryRecord, error)
	// PutDelivery rewrites delivery seq of sub where it is (the same place in the queue).
	PutDelivery(sub *SubscriptionRecord, seq uint64, rec *DeliveryRecord) error
	// Schedule makes delivery seq of sub pending at at, adding it or moving it, keeping the due
	// index true to sub's ordering (of a FIFO subscription only the head is due).
	Schedule(sub *SubscriptionRecord, seq uint64, at time.Time) error
	// Unschedule takes delivery seq of sub out of the pending indexes (it was delivered or
	// dead-lettered); of a FIFO subscription the next one becomes the head and is due.
	Unschedule(sub *SubscriptionRecord, seq uint64) error
	// Requeue moves finished delivery oldSeq of sub to the end of its queue under a new seq,
	// stored as rec (already made pending by DeliveryRecord.Requeue), scheduled at
	// rec.NextAttemptAt, and returns the new seq.
	Requeue(sub *SubscriptionRecord, oldSeq uint64, rec *DeliveryRecord) (uint64, error)
	// PutEndpoint writes an endpoint's state (the deliverer's circuit breaker).
	PutEndpoint(ep Endpoint) error
}

// PrepareAttempts checks each record's outcome and stamps an attempt without a time with now(), in
// UTC, before a backend records them. It returns one error per record (nil for those that may be
// recorded): ErrInvalid for an outcome not built by Delivered, RetryAt, Dead or Disable.
func PrepareAttempts(records []AttemptRecord, now func() time.Time) []error {
	errs := make([]error, len(records))
	for i := range records {
		errs[i] = records[i].Outcome.Validate()
		if records[i].Attempt.At.IsZero() {
			records[i].Attempt.At = now()
		}
		records[i].Attempt.At = records[i].Attempt.At.UTC()
	}
	return errs
}

// RecordAttemptsIn records in tx each attempt whose skip entry is nil: it appends the attempt to
// its pending delivery and applies the outcome to the delivery, its queue, its subscription's
// health (a dead letter with a reason disables the subscription) and its endpoint, writing each
// subscription an attempt changed once. It returns one error per record: ErrNotFound when the
// subscription or delivery is gone, ErrNotPending when the delivery already finished (nothing is
// written for such a record; the others are). err is any other failure, after which tx must not
// be committed.
func RecordAttemptsIn(tx OutboxTx, records []AttemptRecord, skip []error) (own []error, err error) {
	own = make([]error, len(records))
	subs := map[string]*SubscriptionRecord{}
	dirty := map[string]bool{} // the subscriptions an attempt changed: only those are written
	var changedSubs []*SubscriptionRecord
	for i, r := range records {
		if skip[i] != nil {
			continue
		}
		sub := subs[r.SubscriptionID]
		if sub == nil {
			if sub, err = tx.Subscription(r.SubscriptionID); err != nil {
				if errors.Is(err, ErrNotFound) {
					own[i] = err
					continue
				}
				return nil, err
			}
			subs[r.SubscriptionID] = sub
		}
		changed, err := recordAttempt(tx, sub, r)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotPending) {
			own[i] = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if changed && !dirty[sub.ID] {
			dirty[sub.ID] = true
			changedSubs = append(changedSubs, sub)
		}
	}
	for _, sub := range changedSubs {
		if err := tx.PutSubscription(sub); err != nil {
			return nil, err
		}
	}
	return own, nil
}

// recordAttempt applies one record to its delivery, its queue, sub's health and the endpoint, in
// tx, and reports whether sub changed (and must be written). Errors: ErrNotFound, ErrNotPending
// (nothing is written for the record); ErrInvalid for an endpoint without a usable key; storage
// failures.
func recordAttempt(tx OutboxTx, sub *SubscriptionRecord, r AttemptRecord) (bool, error) {
	rec, err := tx.Delivery(sub.ID, r.Seq)
	if err != nil {
		return false, err
	}
	if rec.Status != DeliveryPending {
		return false, fmt.Errorf("%w: delivery %s is %s", ErrNotPending, rec.ID, rec.Status)
	}
	if ep := r.Outcome.Endpoint; ep != nil && !ValidID(ep.Key) {
		return false, fmt.Errorf("%w: endpoint key must be 1 to %d bytes", ErrInvalid, MaxIDLength)
	}
	changed := rec.ApplyAttempt(sub, r.Attempt, r.Outcome)
	if err := tx.PutDelivery(sub, r.Seq, rec); err != nil {
		return false, err
	}
	if rec.Status == DeliveryPending {
		err = tx.Schedule(sub, r.Seq, rec.NextAttemptAt)
	} else {
		err = tx.Unschedule(sub, r.Seq)
	}
	if err != nil {
		return false, err
	}
	if r.Outcome.Endpoint != nil {
		return changed, tx.PutEndpoint(*r.Outcome.Endpoint)
	}
	return changed, nil
}

// RecoveryCandidates collects, from a walk over a subscription's deliveries, those Recover queues
// again: created at or after Since, and dead, or pending with failed attempts in their round.
type RecoveryCandidates struct {
	Since         time.Time
	failing, dead []uint64
}

// Consider takes delivery seq, stored as rec, when it failed since c.Since.
func (c *RecoveryCandidates) Consider(seq uint64, rec *DeliveryRecord) {
	if rec.CreatedAt.Before(c.Since) {
		return
	}
	switch {
	case rec.Status == DeliveryDead:
		c.dead = append(c.dead, seq)
	case rec.Status == DeliveryPending && rec.RoundAttempts > 0:
		c.failing = append(c.failing, seq)
	}
}

// Seqs are the deliveries taken: the pending ones first, then the dead, each in the order
// considered.
func (c *RecoveryCandidates) Seqs() []uint64 {
	return append(append([]uint64{}, c.failing...), c.dead...)
}

// RecoverIn queues again, in tx, those deliveries of seqs (RecoveryCandidates.Seqs) of subscription
// subID that still failed when read here: a pending one with failed attempts becomes due at now, a
// dead one is requeued as ResendIn does. A delivery gone since it was considered is passed over.
// It returns how many it queued. Errors: ErrNotFound when the subscription is gone; storage
// failures.
func RecoverIn(tx OutboxTx, subID string, seqs []uint64, now time.Time) (int, error) {
	sub, err := tx.Subscription(subID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, seq := range seqs {
		rec, err := tx.Delivery(subID, seq)
		if errors.Is(err, ErrNotFound) {
			continue // moved or pruned since it was considered
		}
		if err != nil {
			return 0, err
		}
		switch {
		case rec.Status == DeliveryPending && rec.RoundAttempts > 0:
			rec.NextAttemptAt = now
			if err := tx.PutDelivery(sub, seq, rec); err != nil {
				return 0, err
			}
			if err := tx.Schedule(sub, seq, now); err != nil {
				return 0, err
			}
		case rec.Status == DeliveryDead:
			rec.Requeue(now)
			if _, err := tx.Requeue(sub, seq, rec); err != nil {
				return 0, err
			}
		default:
			continue
		}
		n++
	}
	return n, nil
}

// ResendIn queues delivery deliveryID of subscription subID again, in tx, as a store's Resend
// does: a delivered or dead delivery moves to the end of the queue under a new seq, due at now,
// with a new round of attempts, its id, payload and past attempts kept. seq and rec are the
// delivery as the backend found it by its id. It returns the delivery as queued.
// Errors: ErrAlreadyPending when it is still pending; ErrNotFound when the subscription is gone;
// storage failures.
func ResendIn(tx OutboxTx, subID string, seq uint64, rec *DeliveryRecord, now time.Time) (Delivery, error) {
	if rec.Status == DeliveryPending {
		return Delivery{}, fmt.Errorf("%w: delivery %s", ErrAlreadyPending, rec.ID)
	}
	sub, err := tx.Subscription(subID)
	if err != nil {
		return Delivery{}, err
	}
	rec.Requeue(now)
	newSeq, err := tx.Requeue(sub, seq, rec)
	if err != nil {
		return Delivery{}, err
	}
	return rec.Delivery(subID, newSeq), nil
}
