package state

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The pending index (pending/<sub>/<seq> → next attempt time) holds every
// pending delivery of a subscription, oldest first. The due index
// (due/<time><seq><sub> → "") holds, ordered by next attempt time, the
// deliveries that may go out when that time comes: every pending delivery of
// a best-effort subscription, and only the head (the lowest pending seq) of a
// FIFO one. DueDeliveries reads the due index from its start up to now, so
// finding work costs what is due, never what waits.

// dueKey is the due index key of delivery seq of subID, due at.
func dueKey(at time.Time, seq uint64, subID string) []byte {
	k := make([]byte, 0, 16+len(subID))
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	k = binary.BigEndian.AppendUint64(k, seq)
	return append(k, subID...)
}

// parseDueKey splits a due index key; ok is false for a malformed one.
func parseDueKey(k []byte) (at time.Time, seq uint64, subID string, ok bool) {
	if len(k) <= 16 {
		return time.Time{}, 0, "", false
	}
	return valueTime(k[:8]), binary.BigEndian.Uint64(k[8:16]), string(k[16:]), true
}

// headOf returns the lowest pending seq of subID and its time; ok is false
// when nothing is pending.
func headOf(tx *bolt.Tx, subID string) (seq uint64, at time.Time, ok bool) {
	pending := tx.Bucket(bucketPending).Bucket([]byte(subID))
	if pending == nil {
		return 0, time.Time{}, false
	}
	k, v := pending.Cursor().First()
	if k == nil {
		return 0, time.Time{}, false
	}
	return binary.BigEndian.Uint64(k), valueTime(v), true
}

// pendingAt returns the next attempt time of pending delivery seq; ok is
// false when it is not pending.
func pendingAt(tx *bolt.Tx, subID string, seq uint64) (time.Time, bool) {
	pending := tx.Bucket(bucketPending).Bucket([]byte(subID))
	if pending == nil {
		return time.Time{}, false
	}
	v := pending.Get(u64Key(seq))
	if v == nil {
		return time.Time{}, false
	}
	return valueTime(v), true
}

// schedule makes delivery seq of sub pending at at (adding it or moving it),
// keeping both indexes true to the subscription's ordering.
func schedule(tx *bolt.Tx, sub *subscriptionRecord, seq uint64, at time.Time) error {
	due := tx.Bucket(bucketDue)
	if old, ok := pendingAt(tx, sub.ID, seq); ok {
		if err := due.Delete(dueKey(old, seq, sub.ID)); err != nil {
			return err
		}
	}
	pending, err := tx.Bucket(bucketPending).CreateBucketIfNotExists([]byte(sub.ID))
	if err != nil {
		return err
	}
	if err := pending.Put(u64Key(seq), timeValue(at)); err != nil {
		return err
	}
	if sub.Ordering.OrDefault() == OrderingFIFO {
		head, _, _ := headOf(tx, sub.ID)
		if head != seq {
			return nil // it waits behind the head; indexed when it becomes the head
		}
	}
	return due.Put(dueKey(at, seq, sub.ID), nil)
}

// unschedule removes delivery seq of sub from both indexes (it was delivered
// or dead-lettered) and, for a FIFO subscription, indexes the new head. The
// subscription's pending bucket goes when it empties, so DeleteSubscription
// and the stats visit only subscriptions with work.
func unschedule(tx *bolt.Tx, sub *subscriptionRecord, seq uint64) error {
	at, ok := pendingAt(tx, sub.ID, seq)
	if !ok {
		return nil
	}
	if err := tx.Bucket(bucketDue).Delete(dueKey(at, seq, sub.ID)); err != nil {
		return err
	}
	parent := tx.Bucket(bucketPending)
	pending := parent.Bucket([]byte(sub.ID))
	if err := pending.Delete(u64Key(seq)); err != nil {
		return err
	}
	head, headAt, ok := headOf(tx, sub.ID)
	if !ok {
		return parent.DeleteBucket([]byte(sub.ID))
	}
	if sub.Ordering.OrDefault() == OrderingFIFO {
		return tx.Bucket(bucketDue).Put(dueKey(headAt, head, sub.ID), nil)
	}
	return nil
}

// unscheduleAll removes every pending delivery of subID from both indexes
// (DeleteSubscription).
func unscheduleAll(tx *bolt.Tx, subID string) error {
	parent := tx.Bucket(bucketPending)
	pending := parent.Bucket([]byte(subID))
	if pending == nil {
		return nil
	}
	due := tx.Bucket(bucketDue)
	err := pending.ForEach(func(k, v []byte) error {
		return due.Delete(dueKey(valueTime(v), binary.BigEndian.Uint64(k), subID))
	})
	if err != nil {
		return err
	}
	return parent.DeleteBucket([]byte(subID))
}

// DueDeliveries returns the deliveries due at now (next attempt at or before
// now) of active subscriptions, the longest-waiting first, at most limit of
// them (limit ≤ 0: no limit). Of a FIFO subscription only the head of its
// queue is ever due, so its callback sees events in order; every pending
// delivery of a best-effort subscription is due on its own schedule. skip,
// when not nil, passes over the deliveries it names (the deliverer's held
// endpoints and attempts in flight) before their records are read; they do
// not count against limit.
//
// It reads the due index up to now and the records returned, never what
// waits for later or delivered history. Errors: only storage failures.
func (s *Store) DueDeliveries(now time.Time, limit int, skip func(subID string, seq uint64) bool) ([]Delivery, error) {
	var due []Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		active := map[string]bool{}
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			at, seq, subID, ok := parseDueKey(k)
			if !ok {
				return fmt.Errorf("malformed due index key %x", k)
			}
			if at.After(now) {
				break
			}
			if skip != nil && skip(subID, seq) {
				continue
			}
			isActive, known := active[subID]
			if !known {
				status, err := s.subscriptionStatus(tx, subID)
				if err != nil {
					return err
				}
				isActive = status == StatusActive
				active[subID] = isActive
			}
			if !isActive {
				continue
			}
			rec, err := getDelivery(tx, subID, seq)
			if err != nil {
				return err
			}
			due = append(due, rec.delivery(subID, seq))
			if limit > 0 && len(due) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapTx("due deliveries", err)
	}
	return due, nil
}

// PendingStats is what the outbox holds, for metrics and operators.
type PendingStats struct {
	// Pending is the number of deliveries waiting for their first or next
	// attempt, across every subscription.
	Pending int
	// OldestQueuedAt is when the longest-waiting of them entered the queue;
	// zero when none waits.
	OldestQueuedAt time.Time
}

// Stats counts the pending deliveries and finds the oldest. It reads the
// pending index and one record per subscription with work.
// Errors: only storage failures.
func (s *Store) Stats() (PendingStats, error) {
	var st PendingStats
	err := s.db.View(func(tx *bolt.Tx) error {
		parent := tx.Bucket(bucketPending)
		return parent.ForEachBucket(func(subID []byte) error {
			pending := parent.Bucket(subID)
			st.Pending += pending.Stats().KeyN
			k, _ := pending.Cursor().First()
			if k == nil {
				return nil
			}
			rec, err := getDelivery(tx, string(subID), binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			if st.OldestQueuedAt.IsZero() || rec.QueuedAt.Before(st.OldestQueuedAt) {
				st.OldestQueuedAt = rec.QueuedAt
			}
			return nil
		})
	})
	return st, wrapTx("stats", err)
}
