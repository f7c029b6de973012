package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// subLog is one subscription's delivery log: its records in the log bucket, under the keys that
// begin with its prefix, and its outbox bucket (the ids index, and the sequence that numbers the
// deliveries). box and ids are nil while the subscription has no delivery yet.
type subLog struct {
	subID  string
	prefix []byte
	log    *bolt.Bucket
	box    *bolt.Bucket
	ids    *bolt.Bucket
}

// logPrefix begins every log key of a subscription: the id's length (2 bytes, BE; ids are at most
// maxIDLength bytes) and the id, so that the keys of an id never run into those of a longer id
// that begins alike.
func logPrefix(subID string) []byte {
	p := make([]byte, 0, 2+len(subID)+8)
	p = binary.BigEndian.AppendUint16(p, uint16(len(subID))) // #nosec G115 -- ids are at most maxIDLength (256) bytes: checked where they are made, and by openSubLog
	return append(p, subID...)
}

// logKey is the log key of delivery seq of subID.
func logKey(subID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(logPrefix(subID), seq)
}

// openSubLog returns the log of subID as tx holds it.
func openSubLog(tx *bolt.Tx, subID string) subLog {
	l := subLog{subID: subID, prefix: logPrefix(subID), log: tx.Bucket(bucketLog)}
	if l.box = tx.Bucket(bucketOutbox).Bucket([]byte(subID)); l.box != nil {
		l.ids = l.box.Bucket(bucketOutboxIDs)
	}
	return l
}

// createSubLog is openSubLog for writers: it creates the outbox bucket and its ids index.
// Errors: an id longer than maxIDLength; storage failures.
func createSubLog(tx *bolt.Tx, subID string) (subLog, error) {
	if !validID(subID) {
		return subLog{}, fmt.Errorf("%w: subscription id must be 1 to %d bytes", ErrInvalid, maxIDLength)
	}
	l := openSubLog(tx, subID)
	if l.ids != nil {
		return l, nil
	}
	var err error
	if l.box, err = tx.Bucket(bucketOutbox).CreateBucketIfNotExists([]byte(subID)); err != nil {
		return subLog{}, err
	}
	if l.ids, err = l.box.CreateBucketIfNotExists(bucketOutboxIDs); err != nil {
		return subLog{}, err
	}
	return l, nil
}

// exists reports whether the subscription has had a delivery.
func (l subLog) exists() bool { return l.ids != nil }

// nextSeq returns the seq of a new delivery: one more than any before it, never reused.
func (l subLog) nextSeq() (uint64, error) { return l.box.NextSequence() }

// put writes delivery seq.
func (l subLog) put(seq uint64, rec *deliveryRecord) error {
	return l.log.Put(logKey(l.subID, seq), encodeDelivery(rec))
}

// delete removes delivery seq from the log (its id stays in the ids index: the caller's to move
// or drop).
func (l subLog) delete(seq uint64) error { return l.log.Delete(logKey(l.subID, seq)) }

// deleteAll removes the subscription's records and its outbox bucket.
func (l subLog) deleteAll(tx *bolt.Tx) error {
	var keys [][]byte
	c := l.cursor()
	for seq, _, ok := c.first(); ok; seq, _, ok = c.next() {
		keys = append(keys, logKey(l.subID, seq))
	}
	for _, k := range keys {
		if err := l.log.Delete(k); err != nil {
			return err
		}
	}
	if l.box == nil {
		return nil
	}
	return tx.Bucket(bucketOutbox).DeleteBucket([]byte(l.subID))
}

// cursor walks the subscription's records in seq order. Values point into the transaction's
// pages: decode (copy) them before it ends.
func (l subLog) cursor() subLogCursor {
	return subLogCursor{c: l.log.Cursor(), prefix: l.prefix}
}

// subLogCursor is a bbolt cursor kept to one subscription's keys.
type subLogCursor struct {
	c      *bolt.Cursor
	prefix []byte
}

func (c subLogCursor) first() (uint64, []byte, bool) { return c.at(c.c.Seek(c.prefix)) }

func (c subLogCursor) last() (uint64, []byte, bool) {
	end := binary.BigEndian.AppendUint64(bytes.Clone(c.prefix), ^uint64(0))
	k, v := c.c.Seek(end)
	switch {
	case k == nil:
		k, v = c.c.Last()
	case !bytes.Equal(k, end):
		k, v = c.c.Prev()
	}
	return c.at(k, v)
}

func (c subLogCursor) next() (uint64, []byte, bool) { return c.at(c.c.Next()) }

func (c subLogCursor) prev() (uint64, []byte, bool) { return c.at(c.c.Prev()) }

// at returns the seq and value of a key of the subscription; ok is false past its keys.
func (c subLogCursor) at(k, v []byte) (seq uint64, value []byte, ok bool) {
	if len(k) != len(c.prefix)+8 || !bytes.HasPrefix(k, c.prefix) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(k[len(c.prefix):]), v, true
}
