package etcd

import (
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// The queue of a subscription: pending/<sub>/<seq> holds every pending
// delivery with its next attempt time, and ready/<sub>/<time>/<seq> what may
// go out at that time: every pending delivery of a best-effort subscription,
// only the head (lowest pending seq) of a FIFO one, with heads/ kept beside it
// (heads.go). Callers touch the subscription's outbox key first
// (touchOutbox), which makes the range reads here safe against other writers.

// pendingAt returns the next attempt time of pending delivery seq; ok is
// false when it is not pending.
func (t *tx) pendingAt(subID string, seq uint64) (time.Time, bool, error) {
	v, ok, err := t.get(t.s.pendingKey(subID, seq))
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	at, err := parseTimeHex(string(v))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("pending %s/%d: %w", subID, seq, err)
	}
	return at, true, nil
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
	old, wasPending, err := t.pendingAt(sub.ID, seq)
	if err != nil {
		return err
	}
	if wasPending {
		if err := t.delReady(sub.ID, old, seq); err != nil {
			return err
		}
	}
	t.put(t.s.pendingKey(sub.ID, seq), []byte(timeHex(at)))
	if sub.FIFO() {
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
	t.put(t.s.pendingKey(sub.ID, seq), []byte(timeHex(at)))
	if !sub.FIFO() || isHead {
		return t.putReady(sub.ID, at, seq)
	}
	return nil
}

// unschedule removes delivery seq of sub from both indexes (it was delivered
// or dead-lettered) and, for a FIFO subscription, indexes the new head.
func (t *tx) unschedule(sub *state.SubscriptionRecord, seq uint64) error {
	at, ok, err := t.pendingAt(sub.ID, seq)
	if err != nil || !ok {
		return err
	}
	if err := t.delReady(sub.ID, at, seq); err != nil {
		return err
	}
	t.del(t.s.pendingKey(sub.ID, seq))
	if !sub.FIFO() {
		return nil
	}
	head, headAt, ok, err := t.head(sub.ID)
	if err != nil || !ok {
		return err
	}
	return t.putReady(sub.ID, headAt, head)
}
