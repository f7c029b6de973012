package etcd

import (
	"errors"
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// The queue of a subscription: ready/<sub>/<time>/<seq> holds what may go
// out at that time, with heads/ kept beside it (heads.go): every pending
// delivery of a best-effort subscription, only the head (lowest pending seq)
// of a FIFO one. pending/<sub>/<seq> holds every pending delivery of a FIFO
// subscription with its next attempt time, in queue order; a best-effort
// subscription needs no such queue, and the record of a pending delivery says
// when it is due (its NextAttemptAt is always its ready entry's time), so a
// best-effort attempt writes two keys, its record and its ready entry. Callers
// touch the subscription's outbox key first (touchOutbox), which makes the
// range reads here safe against other writers.

// queued is whether a delivery is pending, and when it is due, as the transaction has it.
type queued struct {
	at      time.Time
	pending bool
}

// pendingAt returns the next attempt time of pending delivery seq of sub; ok is false when it is
// not pending.
func (t *tx) pendingAt(sub *state.SubscriptionRecord, seq uint64) (time.Time, bool, error) {
	if !sub.FIFO() {
		return t.bestEffortPendingAt(sub.ID, seq)
	}
	v, ok, err := t.get(t.s.pendingKey(sub.ID, seq))
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	at, err := parseTimeHex(string(v))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("pending %s/%d: %w", sub.ID, seq, err)
	}
	return at, true, nil
}

// bestEffortPendingAt is pendingAt of a best-effort delivery: as its record was when the
// transaction first read it (getDelivery notes it), or as the transaction scheduled it since.
func (t *tx) bestEffortPendingAt(subID string, seq uint64) (time.Time, bool, error) {
	key := t.s.logKey(subID, seq)
	if q, ok := t.queue[key]; ok {
		return q.at, q.pending, nil
	}
	if _, err := t.getDelivery(subID, seq); errors.Is(err, state.ErrNotFound) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, err
	}
	q := t.queue[key]
	return q.at, q.pending, nil
}

// head returns the lowest pending seq of subID and its time; ok is false
// when nothing is pending.
func (t *tx) head(subID string) (seq uint64, at time.Time, ok bool, err error) {
	k, v, ok, err := t.first(t.s.pendingDir(subID))
	if err != nil || !ok {
		return 0, time.Time{}, false, err
	}
	if seq, err = seqOfKey(k); err != nil {
		return 0, time.Time{}, false, err
	}
	if at, err = parseTimeHex(string(v)); err != nil {
		return 0, time.Time{}, false, fmt.Errorf("pending %s: %w", k, err)
	}
	return seq, at, true, nil
}

// schedule makes delivery seq of sub pending at at (adding or moving it),
// keeping both indexes true to the subscription's ordering.
func (t *tx) schedule(sub *state.SubscriptionRecord, seq uint64, at time.Time) error {
	old, wasPending, err := t.pendingAt(sub, seq)
	if err != nil {
		return err
	}
	if wasPending {
		if err := t.delReady(sub.ID, old, seq); err != nil {
			return err
		}
	}
	t.queue[t.s.logKey(sub.ID, seq)] = queued{at: at, pending: true}
	if sub.FIFO() {
		t.put(t.s.pendingKey(sub.ID, seq), []byte(timeHex(at)))
		head, _, _, err := t.head(sub.ID)
		if err != nil {
			return err
		}
		if head != seq {
			return nil // it waits behind the head; indexed when it becomes the head
		}
	}
	return t.putReady(sub.ID, at, seq)
}

// scheduleNew is schedule for a delivery just appended at the end of the
// queue; isHead says whether nothing was pending before it.
func (t *tx) scheduleNew(sub *state.SubscriptionRecord, seq uint64, at time.Time, isHead bool) error {
	t.queue[t.s.logKey(sub.ID, seq)] = queued{at: at, pending: true}
	if !sub.FIFO() {
		return t.putReady(sub.ID, at, seq)
	}
	t.put(t.s.pendingKey(sub.ID, seq), []byte(timeHex(at)))
	if isHead {
		return t.putReady(sub.ID, at, seq)
	}
	return nil
}

// unschedule removes delivery seq of sub from both indexes (it was delivered
// or dead-lettered) and, for a FIFO subscription, indexes the new head.
func (t *tx) unschedule(sub *state.SubscriptionRecord, seq uint64) error {
	at, ok, err := t.pendingAt(sub, seq)
	if err != nil || !ok {
		return err
	}
	if err := t.delReady(sub.ID, at, seq); err != nil {
		return err
	}
	t.queue[t.s.logKey(sub.ID, seq)] = queued{}
	if !sub.FIFO() {
		return nil
	}
	t.del(t.s.pendingKey(sub.ID, seq))
	head, headAt, ok, err := t.head(sub.ID)
	if err != nil || !ok {
		return err
	}
	return t.putReady(sub.ID, headAt, head)
}
