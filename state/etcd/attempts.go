package etcd

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// How RecordAttempts fills its transactions: by an estimate of their operations within etcd's 128
// (compares, counted apart, are fewer: one a record, two a subscription), and recordLanes of them
// in flight at once, each for other subscriptions than the others'. A transaction the estimate
// gets wrong (many retries, a FIFO queue) is too big for etcd and split in halves.
const (
	opsPerRecord       = 2 // its record; its ready entry out, mostly in a range delete (writeops.go), and in again for a retry
	opsPerSubscription = 5 // its outbox; its head out and in; its record, when its health changed; its range delete
	recordLanes        = 4
)

// RecordAttempt appends attempt a to the pending delivery (subID, seq) and
// applies the outcome, as bolt.Store.RecordAttempt does, in one transaction.
//
// Errors: state.ErrNotFound when the subscription or delivery is gone;
// state.ErrNotPending when the delivery is already finished; state.ErrInvalid
// for a malformed outcome; etcd errors.
func (s *Store) RecordAttempt(subID string, seq uint64, a state.Attempt, outcome state.Outcome) error {
	return s.RecordAttempts([]state.AttemptRecord{{SubscriptionID: subID, Seq: seq, Attempt: a, Outcome: outcome}})[0]
}

// RecordAttempts records many attempts as RecordAttempt does each (the deliverer's group commit)
// and returns one error per record, in order: that record's error, or its transaction's. Each
// subscription's records go, in order, into transactions filled up to etcd's limits, and
// recordLanes transactions of different subscriptions are in flight at once: etcd commits
// concurrent transactions together, where one at a time each waits for its own round.
func (s *Store) RecordAttempts(records []state.AttemptRecord) []error {
	carried := records
	records = lastEndpointStates(records)
	errs := state.PrepareAttempts(records, s.now)
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("etcd store: record attempt: %w", err)
		}
	}
	var wg sync.WaitGroup
	for _, lane := range recordingLanes(records, errs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, chunk := range lane {
				s.recordIndexed(records, errs, chunk)
			}
		}()
	}
	wg.Wait()
	s.keepEndpointStates(carried, errs)
	return errs
}

// keepEndpointStates stores, for each endpoint whose last state (the one lastEndpointStates left
// in place) went with a record that was not recorded, the state of the last record of it that
// was, as the bbolt store's one transaction does. A failure to store it is added to the error of
// the record that carried the last state.
func (s *Store) keepEndpointStates(carried []state.AttemptRecord, errs []error) {
	last := map[string]int{} // endpoint key → the record that carries its last state
	recorded := map[string]int{}
	for i, r := range carried {
		ep := r.Outcome.Endpoint
		if ep == nil {
			continue
		}
		last[ep.Key] = i
		if errs[i] == nil {
			recorded[ep.Key] = i
		}
	}
	for key, i := range last {
		j, ok := recorded[key]
		if errs[i] == nil || !ok {
			continue
		}
		err := s.update(func(t *tx) error { return t.putEndpoint(*carried[j].Outcome.Endpoint) })
		if err != nil {
			errs[i] = errors.Join(errs[i], wrap("record attempt: endpoint", err))
		}
	}
}

// lastEndpointStates is a copy of records in which only the last record carrying an endpoint's
// state keeps it: the lanes commit in no set order, and an earlier state must not be written over
// a later one.
func lastEndpointStates(records []state.AttemptRecord) []state.AttemptRecord {
	out := slices.Clone(records)
	seen := map[string]bool{}
	for i := len(out) - 1; i >= 0; i-- {
		ep := out[i].Outcome.Endpoint
		if ep == nil {
			continue
		}
		if seen[ep.Key] {
			out[i].Outcome.Endpoint = nil
		}
		seen[ep.Key] = true
	}
	return out
}

// recordingLanes spreads the records without an error over at most recordLanes lanes, each
// subscription's records in one lane in their order (a record of the same delivery twice must see
// the first), into chunks (indexes of records) that fit one transaction by the estimate.
func recordingLanes(records []state.AttemptRecord, errs []error) [][][]int {
	bySub := map[string][]int{}
	var order []string
	for i, r := range records {
		if errs[i] != nil {
			continue
		}
		if _, seen := bySub[r.SubscriptionID]; !seen {
			order = append(order, r.SubscriptionID)
		}
		bySub[r.SubscriptionID] = append(bySub[r.SubscriptionID], i)
	}
	lanes := make([][][]int, min(recordLanes, len(order)))
	sizes := make([]int, len(lanes)) // records per lane
	costs := make([]int, len(lanes)) // the estimate of the lane's last chunk
	for _, sub := range order {
		lane := 0
		for l := range lanes {
			if sizes[l] < sizes[lane] {
				lane = l
			}
		}
		for idx := bySub[sub]; len(idx) > 0; {
			n := len(lanes[lane])
			if n == 0 || costs[lane]+opsPerSubscription+opsPerRecord > maxTxnOps {
				lanes[lane] = append(lanes[lane], nil)
				costs[lane], n = 0, n+1
			}
			take := min(len(idx), (maxTxnOps-costs[lane]-opsPerSubscription)/opsPerRecord)
			lanes[lane][n-1] = append(lanes[lane][n-1], idx[:take]...)
			costs[lane] += opsPerSubscription + take*opsPerRecord
			sizes[lane] += take
			idx = idx[take:]
		}
	}
	return lanes
}

// recordIndexed records records[i] of each i of chunk in one transaction (recordChunk), setting
// errs[i].
func (s *Store) recordIndexed(records []state.AttemptRecord, errs []error, chunk []int) {
	recs, chunkErrs := make([]state.AttemptRecord, len(chunk)), make([]error, len(chunk))
	for j, i := range chunk {
		recs[j], chunkErrs[j] = records[i], errs[i]
	}
	s.recordChunk(recs, chunkErrs)
	for j, i := range chunk {
		errs[i] = chunkErrs[j]
	}
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

// attemptReads are what recording records reads (each subscription, delivery and outbox once, and
// the first ready entries of each subscription: one more than it has records, so that its head
// after them is known), for one prefetch instead of a round trip per key; records with an error
// already are left out. (A FIFO subscription's pending entries are read when recorded.)
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
	}
	ranges := make([]rangeSpec, len(subs))
	for i, id := range subs {
		ranges[i] = rangeSpec{prefix: s.readyDir(id), limit: perSub[id] + 1}
	}
	return keys, ranges
}
