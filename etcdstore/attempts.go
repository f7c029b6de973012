package etcdstore

import (
	"errors"
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// attemptsPerTxn bounds the records of one transaction of RecordAttempts:
// each is at most about eight operations and five compares.
const attemptsPerTxn = 12

// RecordAttempt appends attempt a to the pending delivery (subID, seq) and
// applies the outcome, as state.Store.RecordAttempt does, in one transaction.
//
// Errors: state.ErrNotFound when the subscription or delivery is gone;
// state.ErrNotPending when the delivery is already finished; state.ErrInvalid
// for a malformed outcome; etcd errors.
func (s *Store) RecordAttempt(subID string, seq uint64, a state.Attempt, outcome state.Outcome) error {
	return s.RecordAttempts([]state.AttemptRecord{{SubscriptionID: subID, Seq: seq, Attempt: a, Outcome: outcome}})[0]
}

// RecordAttempts records many attempts as RecordAttempt does each, a dozen
// per etcd transaction (the deliverer's group commit), and returns one error
// per record, in order: that record's error, or its transaction's.
func (s *Store) RecordAttempts(records []state.AttemptRecord) []error {
	errs := make([]error, len(records))
	for i := range records {
		if err := records[i].Outcome.Validate(); err != nil {
			errs[i] = fmt.Errorf("etcdstore: record attempt: %w", err)
		}
		if records[i].Attempt.At.IsZero() {
			records[i].Attempt.At = s.now()
		}
		records[i].Attempt.At = records[i].Attempt.At.UTC()
	}
	for start := 0; start < len(records); start += attemptsPerTxn {
		end := min(start+attemptsPerTxn, len(records))
		s.recordChunk(records[start:end], errs[start:end])
	}
	return errs
}

// recordChunk records one transaction's worth; errs[i] already set are
// skipped. Records too big together for one transaction (large payloads) are
// recorded in halves.
func (s *Store) recordChunk(records []state.AttemptRecord, errs []error) {
	own := make([]error, len(records))
	err := s.update(func(t *tx) error {
		if err := t.prefetch(s.attemptKeys(records, errs)); err != nil {
			return err
		}
		subs := map[string]*state.SubscriptionRecord{}
		dirty := map[string]bool{} // the subscriptions an attempt changed: only those are written
		for i, r := range records {
			own[i] = nil
			if errs[i] != nil {
				continue
			}
			sub := subs[r.SubscriptionID]
			if sub == nil {
				var err error
				if sub, err = t.getSubscription(r.SubscriptionID); err != nil {
					if errors.Is(err, state.ErrNotFound) {
						own[i] = wrap("record attempt", err)
						continue
					}
					return err
				}
				subs[r.SubscriptionID] = sub
			}
			changed, err := t.recordAttempt(sub, r)
			if err != nil {
				if errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrNotPending) {
					own[i] = wrap("record attempt", err)
					continue
				}
				return err
			}
			if changed {
				dirty[sub.ID] = true
			}
		}
		for id := range dirty {
			if err := t.putSubscription(subs[id]); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errTooLarge) && len(records) > 1 {
		half := len(records) / 2
		s.recordChunk(records[:half], errs[:half])
		s.recordChunk(records[half:], errs[half:])
		return
	}
	for i := range records {
		switch {
		case errs[i] != nil:
		case err != nil:
			errs[i] = wrap("record attempt", err)
		default:
			errs[i] = own[i]
		}
	}
}

// recordAttempt applies one record to its delivery, its queue, sub's Health
// and the endpoint, in t, and reports whether sub changed (and must be
// written). Errors: state.ErrNotFound, state.ErrNotPending (nothing is
// written for the record), or an etcd failure.
func (t *tx) recordAttempt(sub *state.SubscriptionRecord, r state.AttemptRecord) (bool, error) {
	a, outcome := r.Attempt, r.Outcome
	rec, err := t.getDelivery(sub.ID, r.Seq)
	if err != nil {
		return false, err
	}
	if rec.Status != state.DeliveryPending {
		return false, fmt.Errorf("%w: delivery %s is %s", state.ErrNotPending, rec.ID, rec.Status)
	}
	if outcome.Endpoint != nil && !state.ValidID(outcome.Endpoint.Key) {
		return false, fmt.Errorf("%w: endpoint key must be 1 to 256 bytes", state.ErrInvalid)
	}
	if _, err := t.touchOutbox(sub.ID); err != nil {
		return false, err
	}
	changed := rec.ApplyAttempt(sub, a, outcome)
	if err := t.putDelivery(sub.ID, r.Seq, rec); err != nil {
		return false, err
	}
	if rec.Status == state.DeliveryPending {
		err = t.schedule(sub, r.Seq, rec.NextAttemptAt)
	} else {
		err = t.unschedule(sub, r.Seq)
	}
	if err != nil {
		return false, err
	}
	if outcome.Endpoint != nil {
		return changed, t.putEndpoint(*outcome.Endpoint)
	}
	return changed, nil
}

// attemptKeys are the keys recording records reads (each subscription, delivery, outbox and
// pending entry once), for one prefetch instead of a round trip per key; records with an error
// already are left out.
func (s *Store) attemptKeys(records []state.AttemptRecord, errs []error) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for i, r := range records {
		if errs[i] != nil {
			continue
		}
		add(s.subscriptionKey(r.SubscriptionID))
		add(s.logKey(r.SubscriptionID, r.Seq))
		add(s.outboxKey(r.SubscriptionID))
		add(s.pendingKey(r.SubscriptionID, r.Seq))
	}
	return keys
}
