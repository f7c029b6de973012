package bolt

import (
	"bytes"
	"encoding/binary"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// What may go out, and when, is indexed by subscription (since schema version 6):
//
//   - due/<subscription prefix><time><seq> → "" holds the deliveries that may go out at that time —
//     every pending delivery of a best-effort subscription, only the head of a FIFO one — each
//     subscription's entries side by side, in the order they fall due. A subscription prefix is the
//     length of its key form (2 bytes, big-endian), then the key form (subKey in due.go), so no
//     subscription's entries run into another's.
//   - heads/<time><subscription key> → "" holds one entry per subscription with entries in due/, at
//     the time of its earliest.
//
// A listing (PickDue, duelisting.go) walks heads/ up to now and, for each subscription it finds,
// that subscription's entries up to now, all merged in time order. A subscription the caller passes
// over costs it one head however long its queue, where the single time-ordered index of version 5
// walked every delivery of a subscription that could take none.

// dueSubPrefix is the prefix of subID's entries in due/.
func dueSubPrefix(subID string) []byte {
	key := appendSubKey(nil, subID)
	prefix := make([]byte, 2, 2+len(key)+16)
	binary.BigEndian.PutUint16(prefix, uint16(len(key))) // #nosec G115 -- ids are at most state.MaxIDLength bytes
	return append(prefix, key...)
}

// dueEntryKey is the due/ key of delivery seq due at at, under its subscription's prefix.
func dueEntryKey(prefix []byte, at time.Time, seq uint64) []byte {
	k := make([]byte, 0, len(prefix)+16)
	k = append(k, prefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return binary.BigEndian.AppendUint64(k, seq)
}

// parseDueEntry splits a due/ key under prefix; ok is false when k is nil, under another prefix or
// malformed.
func parseDueEntry(prefix, k []byte) (at time.Time, seq uint64, ok bool) {
	if len(k) != len(prefix)+16 || !bytes.HasPrefix(k, prefix) {
		return time.Time{}, 0, false
	}
	rest := k[len(prefix):]
	return valueTime(rest[:8]), binary.BigEndian.Uint64(rest[8:]), true
}

// headKey is the heads/ key of a subscription (its prefix in due/) whose earliest entry is at at.
func headKey(at time.Time, prefix []byte) []byte {
	k := make([]byte, 0, 8+len(prefix)-2)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return append(k, prefix[2:]...)
}

// parseHeadKey splits a heads/ key; ok is false for a malformed one.
func parseHeadKey(k []byte) (at time.Time, subID string, ok bool) {
	if len(k) <= 8 {
		return time.Time{}, "", false
	}
	subID, ok = parseSubKey(k[8:])
	return valueTime(k[:8]), subID, ok
}

// dueIndex is due/ and heads/ in one write transaction: every change to due/ goes through it, and
// keeps the subscription's head true.
type dueIndex struct {
	due, heads *bbolt.Bucket
}

func openDueIndex(tx *bbolt.Tx) dueIndex {
	return dueIndex{due: tx.Bucket(bucketDue), heads: tx.Bucket(bucketHeads)}
}

// first is the time of the earliest entry under prefix; ok is false when it has none.
func (x dueIndex) first(prefix []byte) (at time.Time, ok bool) {
	k, _ := x.due.Cursor().Seek(prefix)
	at, _, ok = parseDueEntry(prefix, k)
	return at, ok
}

// put enters delivery seq of subID as due at at.
func (x dueIndex) put(subID string, at time.Time, seq uint64) error {
	prefix := dueSubPrefix(subID)
	old, had := x.first(prefix)
	if err := x.due.Put(dueEntryKey(prefix, at, seq), nil); err != nil {
		return err
	}
	if had && !at.Before(old) {
		return nil // not earlier than the head
	}
	return x.moveHead(prefix, old, had, at, true)
}

// delete takes delivery seq of subID, due at at, out of due/.
func (x dueIndex) delete(subID string, at time.Time, seq uint64) error {
	prefix := dueSubPrefix(subID)
	old, had := x.first(prefix)
	if err := x.due.Delete(dueEntryKey(prefix, at, seq)); err != nil {
		return err
	}
	if !had || !at.Equal(old) {
		return nil // not at the head's time: the head stays
	}
	next, has := x.first(prefix)
	if has && next.Equal(old) {
		return nil
	}
	return x.moveHead(prefix, old, true, next, has)
}

// deleteAll takes every entry of subID out of due/, and its head out of heads/.
func (x dueIndex) deleteAll(subID string) error {
	prefix := dueSubPrefix(subID)
	old, had := x.first(prefix)
	if !had {
		return nil
	}
	var keys [][]byte
	c := x.due.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := x.due.Delete(k); err != nil {
			return err
		}
	}
	return x.heads.Delete(headKey(old, prefix))
}

// moveHead replaces the head of the subscription of prefix: old (when had) goes, next (when has)
// comes.
func (x dueIndex) moveHead(prefix []byte, old time.Time, had bool, next time.Time, has bool) error {
	if had {
		if err := x.heads.Delete(headKey(old, prefix)); err != nil {
			return err
		}
	}
	if has {
		return x.heads.Put(headKey(next, prefix), nil)
	}
	return nil
}
