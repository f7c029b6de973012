package bolt

import (
	"encoding/binary"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Three indexes say what is pending:
//
//   - queued/<record key> → next attempt time holds every pending delivery, under its record key
//     (sublog.go), so in the order the deliveries were queued: Stats counts it and finds the
//     oldest at its start, and an attempt recorded for a delivery that one commit queued among
//     others deletes an entry next to theirs.
//   - fifo/<subscription id>/<seq> → "" holds the pending deliveries of a FIFO subscription,
//     lowest seq first: the head of its queue.
//   - due/<time><seq><subscription id> → "" holds, ordered by next attempt time, the deliveries
//     that may go out when that time comes: every pending delivery of a best-effort
//     subscription, and only the head of a FIFO one. DueDeliveries reads it from its start up to
//     now, so finding work costs what is due, never what waits.

// pendingAt returns the next attempt time of delivery seq of subID, queued at queued; ok is false
// when it is not pending.
func pendingAt(tx *bbolt.Tx, subID string, seq uint64, queued time.Time) (time.Time, bool) {
	v := tx.Bucket(bucketQueued).Get(recordKey(queued, seq, subID))
	if len(v) != 8 {
		return time.Time{}, false
	}
	return valueTime(v), true
}

// fifoHead returns the lowest pending seq of a FIFO subscription; ok is false when nothing is
// pending.
func fifoHead(tx *bbolt.Tx, subID string) (uint64, bool) {
	queue := tx.Bucket(bucketFIFO).Bucket([]byte(subID))
	if queue == nil {
		return 0, false
	}
	k, _ := queue.Cursor().First()
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// schedule makes delivery seq of sub (queued at queued) pending at at, adding it or moving it,
// keeping the indexes true to the subscription's ordering; added says it was not pending before.
func schedule(tx *bbolt.Tx, sub *state.SubscriptionRecord, seq uint64, queued, at time.Time) (added bool, err error) {
	old, pending := pendingAt(tx, sub.ID, seq, queued)
	if pending {
		if err := tx.Bucket(bucketDue).Delete(dueKey(old, seq, sub.ID)); err != nil {
			return false, err
		}
	}
	return !pending, index(tx, sub, seq, queued, at, pending)
}

// enqueue makes the delivery seq of sub just queued at at pending at once: schedule without the
// look for an earlier schedule, which a new delivery has not got.
func enqueue(tx *bbolt.Tx, sub *state.SubscriptionRecord, seq uint64, at time.Time) error {
	return index(tx, sub, seq, at, at, false)
}

// index enters delivery seq of sub (queued at queued) as pending at at: in the queued index, in its
// FIFO subscription's queue unless it is there already (it was pending), and in the due index when
// it may go out at at (best effort, or the head of its FIFO queue).
func index(tx *bbolt.Tx, sub *state.SubscriptionRecord, seq uint64, queued, at time.Time, inQueue bool) error {
	if err := tx.Bucket(bucketQueued).Put(recordKey(queued, seq, sub.ID), timeValue(at)); err != nil {
		return err
	}
	if sub.Ordering.OrDefault() == state.OrderingFIFO {
		if !inQueue {
			queue, err := tx.Bucket(bucketFIFO).CreateBucketIfNotExists([]byte(sub.ID))
			if err != nil {
				return err
			}
			if err := queue.Put(u64Key(seq), nil); err != nil {
				return err
			}
		}
		if head, _ := fifoHead(tx, sub.ID); head != seq {
			return nil // it waits behind the head; indexed when it becomes the head
		}
	}
	return tx.Bucket(bucketDue).Put(dueKey(at, seq, sub.ID), nil)
}

// unschedule removes delivery seq of sub (queued at queued) from the indexes (it was delivered or
// dead-lettered) and, for a FIFO subscription, indexes the new head. A FIFO subscription's queue
// bucket goes when it empties. removed says it was pending.
func unschedule(tx *bbolt.Tx, sub *state.SubscriptionRecord, seq uint64, queued time.Time) (removed bool, err error) {
	at, ok := pendingAt(tx, sub.ID, seq, queued)
	if !ok {
		return false, nil
	}
	if err := tx.Bucket(bucketDue).Delete(dueKey(at, seq, sub.ID)); err != nil {
		return false, err
	}
	if err := tx.Bucket(bucketQueued).Delete(recordKey(queued, seq, sub.ID)); err != nil {
		return false, err
	}
	return true, leaveFIFOQueue(tx, sub, seq)
}

// leaveFIFOQueue takes seq out of a FIFO subscription's queue and enters the new head in the due
// index; the queue's bucket goes when it empties. Nothing for a best-effort subscription.
func leaveFIFOQueue(tx *bbolt.Tx, sub *state.SubscriptionRecord, seq uint64) error {
	if sub.Ordering.OrDefault() != state.OrderingFIFO {
		return nil
	}
	fifo := tx.Bucket(bucketFIFO)
	if queue := fifo.Bucket([]byte(sub.ID)); queue != nil {
		if err := queue.Delete(u64Key(seq)); err != nil {
			return err
		}
	}
	head, ok := fifoHead(tx, sub.ID)
	if !ok {
		if fifo.Bucket([]byte(sub.ID)) == nil {
			return nil
		}
		return fifo.DeleteBucket([]byte(sub.ID))
	}
	headQueued, ok := openSubLog(tx, sub.ID).queuedAt(head)
	if !ok {
		return nil
	}
	headAt, ok := pendingAt(tx, sub.ID, head, headQueued)
	if !ok {
		return nil
	}
	return tx.Bucket(bucketDue).Put(dueKey(headAt, head, sub.ID), nil)
}

// unscheduleAll removes every pending delivery of subID from the indexes (DeleteSubscription).
// It walks the subscription's deliveries, pending and finished.
func unscheduleAll(tx *bbolt.Tx, subID string) error {
	queuedIndex, due := tx.Bucket(bucketQueued), tx.Bucket(bucketDue)
	var keys [][]byte
	c := openSubLog(tx, subID).cursor()
	for seq, queued, ok := c.first(); ok; seq, queued, ok = c.next() {
		if at, pending := pendingAt(tx, subID, seq, queued); pending {
			keys = append(keys, recordKey(queued, seq, subID), dueKey(at, seq, subID))
		}
	}
	for i := 0; i < len(keys); i += 2 {
		if err := queuedIndex.Delete(keys[i]); err != nil {
			return err
		}
		if err := due.Delete(keys[i+1]); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketFIFO).Bucket([]byte(subID)) == nil {
		return nil
	}
	return tx.Bucket(bucketFIFO).DeleteBucket([]byte(subID))
}
