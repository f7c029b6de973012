package bolt

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// dueKey is the record key of delivery seq of subID queued at at (sublog.go): the time and the seq,
// big-endian, then the subscription's key form (subKey). Up to schema version 5 it was also the key
// of the due index, ordered by time alone; version 6 indexes what is due by subscription
// (dueindex.go).
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
	if isCanonicalUUID(subID) {
		if u, err := uuid.Parse(subID); err == nil {
			return append(append(k, subKeyUUID), u[:]...)
		}
	}
	if subID != "" && subID[0] <= subKeyEscaped {
		k = append(k, subKeyEscaped)
	}
	return append(k, subID...)
}

// isCanonicalUUID reports whether id is a UUID as uuid.UUID.String writes one: 36 characters, lower
// case hexadecimal digits in groups of 8, 4, 4, 4 and 12 joined by hyphens.
func isCanonicalUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// parseSubKey is the subscription id of a key form; ok is false for a malformed one.
func parseSubKey(b []byte) (string, bool) {
	switch {
	case len(b) == 0:
		return "", false
	case b[0] == subKeyUUID:
		if len(b) != 17 {
			return "", false
		}
		return uuidText(b[1:]), true
	case b[0] == subKeyEscaped:
		return string(b[1:]), len(b) > 1
	}
	return string(b), true
}

// uuidTexts interns the text of the UUIDs parseSubKey meets: the listing and the commits meet the
// same few subscriptions' keys again and again.
var uuidTexts = struct {
	sync.Mutex
	byBytes map[uuid.UUID]string
}{byBytes: map[uuid.UUID]string{}}

// uuidTextsLimit bounds uuidTexts; it starts afresh when full.
const uuidTextsLimit = 1 << 16

// uuidText is the canonical text of the 16 bytes of a UUID.
func uuidText(b []byte) string {
	u := uuid.UUID(b)
	uuidTexts.Lock()
	defer uuidTexts.Unlock()
	if text, ok := uuidTexts.byBytes[u]; ok {
		return text
	}
	if len(uuidTexts.byBytes) >= uuidTextsLimit {
		clear(uuidTexts.byBytes)
	}
	text := u.String()
	uuidTexts.byBytes[u] = text
	return text
}

// DueDeliveries is PickDue with a skip function (state.PickOf): true passes over a delivery, false
// takes it.
func (s *Store) DueDeliveries(now time.Time, limit int, skip func(subID string, seq uint64) bool) ([]state.Delivery, error) {
	return s.PickDue(now, limit, state.PickOf(skip))
}

// PickDue returns the deliveries due at now (next attempt at or before now) of active
// subscriptions, the longest-waiting first, at most limit of them (limit ≤ 0: no limit). Of a FIFO
// subscription only the head of its queue is ever due, so its callback sees events in order; every
// pending delivery of a best-effort subscription is due on its own schedule.
//
// picker, when not nil, chooses (state.Picker): a subscription it passes over costs the listing
// its head alone, a delivery it passes over (state.Skip) is not read; neither counts against limit.
// PickDelivery is asked only of deliveries of active subscriptions, which the listing would return
// otherwise: the deliverer counts what it takes against its bounds.
//
// It reads each subscription with work due by now once in heads/, and of those the picker takes
// and are active, their entries in due/ up to now (dueindex.go), and the records it returns; never
// what waits for later, delivered history, or what a subscription passed over still has queued.
// Errors: only storage failures.
func (s *Store) PickDue(now time.Time, limit int, picker state.Picker) ([]state.Delivery, error) {
	if picker == nil {
		picker = state.PickFunc(nil)
	}
	var due []state.Delivery
	err := s.db.View(func(tx *bbolt.Tx) error {
		log := tx.Bucket(bucketLog) // a read transaction looks a bucket up anew each time: once here
		subs := tx.Bucket(bucketSubscriptions)
		listing := newDueListing(tx, now, func(subID string) (bool, error) {
			if !picker.PickSubscription(subID) {
				return false, nil
			}
			rec, err := s.memoSubscriptionIn(subs, subID)
			return err == nil && rec.Status == state.StatusActive, ignoreNotFound(err)
		})
		for limit <= 0 || len(due) < limit {
			next, err := listing.next()
			if err != nil || next == nil {
				return err
			}
			switch picker.PickDelivery(next.subID, next.seq) {
			case state.SkipSubscription:
				listing.drop()
				continue
			case state.Skip:
				listing.advance()
				continue
			}
			rec, err := dueRecord(tx, log, recordKey(next.at, next.seq, next.subID), next.subID, next.seq)
			if err != nil {
				return err
			}
			due = append(due, rec.Delivery(next.subID, next.seq))
			listing.advance()
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

// dueRecord reads the record of the due delivery whose record key would be k were it queued at the
// time it is due (log: tx's log bucket). A delivery due at the time it was queued (its first
// attempt) has k for its record key; any other is found through its subscription's seqs index.
func dueRecord(tx *bbolt.Tx, log *bbolt.Bucket, k []byte, subID string, seq uint64) (*state.DeliveryRecord, error) {
	if v := log.Get(k); v != nil {
		return decodeDelivery(subID, seq, v)
	}
	return getDelivery(tx, subID, seq)
}
