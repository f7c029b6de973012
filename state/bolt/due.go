package bolt

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// dueKey is the due index key of delivery seq of subID, due at: the time and the seq, big-endian,
// then the subscription's key form (subKey).
func dueKey(at time.Time, seq uint64, subID string) []byte {
	k := make([]byte, 0, 16+1+len(subID))
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	k = binary.BigEndian.AppendUint64(k, seq)
	return appendSubKey(k, subID)
}

// parseDueKey splits a due index key; ok is false for a malformed one.
func parseDueKey(k []byte) (at time.Time, seq uint64, subID string, ok bool) {
	if len(k) <= 16 {
		return time.Time{}, 0, "", false
	}
	subID, ok = parseSubKey(k[16:])
	return valueTime(k[:8]), binary.BigEndian.Uint64(k[8:16]), subID, ok
}

// A subscription id at the end of a due, queued or log key (since schema version 5): an id in the
// canonical form of a UUID, as the API makes every one, is its 16 bytes after a 0 byte (17 bytes
// where its text takes 36, in every record key of the log); any other id is itself, after a 1 byte
// when it starts with a 0 or 1 byte.
const (
	subKeyUUID    byte = 0
	subKeyEscaped byte = 1
)

// appendSubKey appends the key form of subID to k.
func appendSubKey(k []byte, subID string) []byte {
	if u, err := uuid.Parse(subID); err == nil && len(subID) == 36 && u.String() == subID {
		return append(append(k, subKeyUUID), u[:]...)
	}
	if subID != "" && subID[0] <= subKeyEscaped {
		k = append(k, subKeyEscaped)
	}
	return append(k, subID...)
}

// parseSubKey is the subscription id of a key form; ok is false for a malformed one.
func parseSubKey(b []byte) (string, bool) {
	switch {
	case len(b) == 0:
		return "", false
	case b[0] == subKeyUUID:
		u, err := uuid.FromBytes(b[1:])
		return u.String(), err == nil
	case b[0] == subKeyEscaped:
		return string(b[1:]), len(b) > 1
	}
	return string(b), true
}

// DueDeliveries returns the deliveries due at now (next attempt at or before
// now) of active subscriptions, the longest-waiting first, at most limit of
// them (limit ≤ 0: no limit). Of a FIFO subscription only the head of its
// queue is ever due, so its callback sees events in order; every pending
// delivery of a best-effort subscription is due on its own schedule. skip,
// when not nil, passes over the deliveries it names (the deliverer's held
// endpoints and attempts in flight) before their records are read; they do
// not count against limit. It is asked only of deliveries of active
// subscriptions, which the listing would return otherwise: the deliverer
// counts what it lets through against its bounds.
//
// It reads the due index up to now and the records returned, never what
// waits for later or delivered history. Errors: only storage failures.
func (s *Store) DueDeliveries(now time.Time, limit int, skip func(subID string, seq uint64) bool) ([]state.Delivery, error) {
	var due []state.Delivery
	err := s.db.View(func(tx *bbolt.Tx) error {
		active := map[string]bool{}
		log := tx.Bucket(bucketLog) // a read transaction looks a bucket up anew each time: once here
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			at, seq, subID, ok := parseDueKey(k)
			if !ok {
				return fmt.Errorf("malformed due index key %x", k)
			}
			if at.After(now) {
				break
			}
			isActive, known := active[subID]
			if !known {
				status, err := s.subscriptionStatus(tx, subID)
				if err != nil {
					return err
				}
				isActive = status == state.StatusActive
				active[subID] = isActive
			}
			if !isActive || (skip != nil && skip(subID, seq)) {
				continue
			}
			rec, err := dueRecord(tx, log, k, subID, seq)
			if err != nil {
				return err
			}
			due = append(due, rec.Delivery(subID, seq))
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

// Stats counts the pending deliveries and finds the oldest: the size and
// the first entry of the queued index, which is in queue order.
// Errors: only storage failures.
func (s *Store) Stats() (state.PendingStats, error) {
	var st state.PendingStats
	err := s.db.View(func(tx *bbolt.Tx) error {
		queued := tx.Bucket(bucketQueued)
		st.Pending = queued.Stats().KeyN
		if k, _ := queued.Cursor().First(); k != nil {
			at, _, _, ok := parseDueKey(k)
			if !ok {
				return fmt.Errorf("malformed queued index key %x", k)
			}
			st.OldestQueuedAt = at
		}
		return nil
	})
	return st, wrapTx("stats", err)
}

// dueRecord reads the record of the due delivery whose due index key is k (log: tx's log bucket).
// A delivery due at the time it was queued (its first attempt) has k for its record key; any other
// is found through its subscription's seqs index.
func dueRecord(tx *bbolt.Tx, log *bbolt.Bucket, k []byte, subID string, seq uint64) (*state.DeliveryRecord, error) {
	if v := log.Get(k); v != nil {
		return decodeDelivery(subID, seq, v)
	}
	return getDelivery(tx, subID, seq)
}
