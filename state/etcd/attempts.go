package etcd

import (
	"errors"
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// attemptsPerTxn bounds the records of one transaction of RecordAttempts:
// each is at most about eight operations and five compares.
const attemptsPerTxn = 12

// RecordAttempt appends attempt a to the pending delivery (subID, seq) and
// applies the outcome, as bolt.Store.RecordAttempt does, in one transaction.
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
	errs := state.PrepareAttempts(records, s.now)
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("etcd store: record attempt: %w", err)
		}
	}
	for start := 0; start < len(records); start += attemptsPerTxn {
		end := min(start+attemptsPerTxn, len(records))
		s.recordChunk(records[start:end], errs[start:end])
	}
	return errs
}

// recordChunk records one transaction's worth (state.RecordAttemptsIn); errs[i] already set are
// skipped. Records too big together for one transaction (large payloads) are recorded in halves.
func (s *Store) recordChunk(records []state.AttemptRecord, errs []error) {
	var own []error
	err := s.update(func(t *tx) error {
		if err := t.prefetchRanges(s.attemptReads(records, errs)); err != nil {
			return err
		}
		var err error
		own, err = state.RecordAttemptsIn(outboxTx{t}, records, errs)
		return err
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
			errs[i] = wrap("record attempt", own[i])
		}
	}
}

// attemptReads are what recording records reads (each subscription, delivery, outbox and pending
// entry once, and the first ready entries of each subscription: one more than it has records, so
// that its head after them is known), for one prefetch instead of a round trip per key; records
// with an error already are left out.
func (s *Store) attemptReads(records []state.AttemptRecord, errs []error) ([]string, []rangeSpec) {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	perSub := map[string]int{}
	var subs []string
	for i, r := range records {
		if errs[i] != nil {
			continue
		}
		if perSub[r.SubscriptionID] == 0 {
			subs = append(subs, r.SubscriptionID)
		}
		perSub[r.SubscriptionID]++
		add(s.subscriptionKey(r.SubscriptionID))
		add(s.logKey(r.SubscriptionID, r.Seq))
		add(s.outboxKey(r.SubscriptionID))
		add(s.pendingKey(r.SubscriptionID, r.Seq))
	}
	ranges := make([]rangeSpec, len(subs))
	for i, id := range subs {
		ranges[i] = rangeSpec{prefix: s.readyDir(id), limit: perSub[id] + 1}
	}
	return keys, ranges
}
