package bolt

import (
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Every delivery record lives in the one log bucket under its record key: its due key at the
// moment it was queued (queued at, seq, subscription id). The events one commit queues share a
// run of keys, and the deliverer takes what is due in that order, so the attempts that one group
// commit records rewrite a few leaves of the log between them, where a key per subscription first
// rewrote a leaf per subscription. The queued index (pending.go) has the same keys.
//
// A subscription finds its own records through its seqs index (outbox/<id>/seqs/<seq> → queued
// at), written when a record is added and read, never written, when an attempt is recorded.

// recordKey is the key of delivery seq of subID in log/ and queued/, queued at queuedAt.
func recordKey(queuedAt time.Time, seq uint64, subID string) []byte {
	return dueKey(queuedAt, seq, subID)
}

// subLog is one subscription's deliveries: its outbox bucket (the sequence that numbers them),
// its ids and seqs indexes, and the log bucket that holds the records. box, ids and seqs are nil
// while the subscription has had no delivery.
type subLog struct {
	subID string
	log   *bbolt.Bucket
	box   *bbolt.Bucket
	ids   *bbolt.Bucket
	seqs  *bbolt.Bucket
}

// openSubLog returns the deliveries of subID as tx holds them.
func openSubLog(tx *bbolt.Tx, subID string) subLog {
	l := subLog{subID: subID, log: appendMostly(tx.Bucket(bucketLog))}
	if l.box = tx.Bucket(bucketOutbox).Bucket([]byte(subID)); l.box != nil {
		l.ids, l.seqs = l.box.Bucket(bucketOutboxIDs), appendMostly(l.box.Bucket(bucketOutboxSeqs))
	}
	return l
}

// appendFillPercent is how full bbolt fills a page before it splits one, in the buckets whose keys
// grow (log/ by queued time, seqs/ by seq): new keys land at the end, so a page split at bbolt's
// default half is never filled again and the bucket stays half empty. A delivery's record grows a
// little when it is delivered (its attempt), which the rest of the page leaves room for.
const appendFillPercent = 0.9

// appendMostly sets b's fill percent for a bucket written at its end (nil stays nil).
func appendMostly(b *bbolt.Bucket) *bbolt.Bucket {
	if b != nil {
		b.FillPercent = appendFillPercent
	}
	return b
}

// createSubLog is openSubLog for writers: it creates the outbox bucket and its indexes.
// Errors: only storage failures.
func createSubLog(tx *bbolt.Tx, subID string) (subLog, error) {
	l := openSubLog(tx, subID)
	if l.seqs != nil {
		return l, nil
	}
	var err error
	if l.box, err = tx.Bucket(bucketOutbox).CreateBucketIfNotExists([]byte(subID)); err != nil {
		return subLog{}, err
	}
	if l.ids, err = l.box.CreateBucketIfNotExists(bucketOutboxIDs); err != nil {
		return subLog{}, err
	}
	if l.seqs, err = l.box.CreateBucketIfNotExists(bucketOutboxSeqs); err != nil {
		return subLog{}, err
	}
	appendMostly(l.seqs)
	return l, nil
}

// idKey is the key of delivery id in an ids index: the 16 bytes an id made by state.DeliveryID
// renders (every id the connector makes), else the id itself, never 16 bytes long (one that is gets
// a 0 byte more), so the two never meet.
func idKey(id string) []byte {
	if sum, ok := state.DeliveryIDBytes(id); ok {
		return sum[:]
	}
	if len(id) == len([16]byte{}) {
		return append([]byte(id), 0)
	}
	return []byte(id)
}

// seqOf returns the seq of delivery id; ok is false when the subscription has no such delivery.
func (l subLog) seqOf(id string) (uint64, bool) {
	if l.ids == nil {
		return 0, false
	}
	v := l.ids.Get(idKey(id))
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// forgetID drops delivery id from the ids index (its record was pruned).
func (l subLog) forgetID(id string) error { return l.ids.Delete(idKey(id)) }

// exists reports whether the subscription has had a delivery.
func (l subLog) exists() bool { return l.seqs != nil }

// nextSeq returns the seq of a new delivery: one more than any before it, never reused.
func (l subLog) nextSeq() (uint64, error) { return l.box.NextSequence() }

// queuedAt returns when delivery seq was queued, which places its record; ok is false when the
// subscription has no such delivery.
func (l subLog) queuedAt(seq uint64) (time.Time, bool) {
	if l.seqs == nil {
		return time.Time{}, false
	}
	v := l.seqs.Get(u64Key(seq))
	if len(v) != 8 {
		return time.Time{}, false
	}
	return valueTime(v), true
}

// get reads and decodes delivery seq, and returns when it was queued.
// Errors: ErrNotFound; a record that does not decode.
func (l subLog) get(seq uint64) (*state.DeliveryRecord, time.Time, error) {
	queued, ok := l.queuedAt(seq)
	var v []byte
	if ok {
		v = l.log.Get(recordKey(queued, seq, l.subID))
	}
	if v == nil {
		return nil, time.Time{}, fmt.Errorf("%w: delivery %s/%d", state.ErrNotFound, l.subID, seq)
	}
	rec, err := decodeDelivery(l.subID, seq, v)
	return rec, queued, err
}

// add writes a new delivery seq, queued at rec.QueuedAt, and indexes its id.
func (l subLog) add(seq uint64, rec *state.DeliveryRecord) error {
	if err := l.seqs.Put(u64Key(seq), timeValue(rec.QueuedAt)); err != nil {
		return err
	}
	if err := l.ids.Put(idKey(rec.ID), u64Key(seq)); err != nil {
		return err
	}
	return l.log.Put(recordKey(rec.QueuedAt, seq, l.subID), state.EncodeDeliveryRecord(l.subID, rec))
}

// put rewrites delivery seq, queued at queued, in place.
func (l subLog) put(seq uint64, queued time.Time, rec *state.DeliveryRecord) error {
	return l.log.Put(recordKey(queued, seq, l.subID), state.EncodeDeliveryRecord(l.subID, rec))
}

// remove deletes delivery seq, queued at queued, from the log and the seqs index (its id stays
// in the ids index: the caller's to move or drop).
func (l subLog) remove(seq uint64, queued time.Time) error {
	if err := l.log.Delete(recordKey(queued, seq, l.subID)); err != nil {
		return err
	}
	return l.seqs.Delete(u64Key(seq))
}

// deleteAll removes the subscription's records and its outbox bucket.
func (l subLog) deleteAll(tx *bbolt.Tx) error {
	if !l.exists() {
		return nil
	}
	var keys [][]byte
	c := l.cursor()
	for seq, queued, ok := c.first(); ok; seq, queued, ok = c.next() {
		keys = append(keys, recordKey(queued, seq, l.subID))
	}
	for _, k := range keys {
		if err := l.log.Delete(k); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketOutbox).DeleteBucket([]byte(l.subID))
}

// record reads the record of an entry of the seqs index.
// Errors: ErrNotFound (an index entry without its record: a damaged file); a record that does not
// decode.
func (l subLog) record(seq uint64, queued time.Time) (*state.DeliveryRecord, error) {
	v := l.log.Get(recordKey(queued, seq, l.subID))
	if v == nil {
		return nil, fmt.Errorf("%w: record of delivery %s/%d", state.ErrNotFound, l.subID, seq)
	}
	return decodeDelivery(l.subID, seq, v)
}

// cursor walks the subscription's deliveries in seq order: seq and when each was queued.
func (l subLog) cursor() seqCursor {
	if l.seqs == nil {
		return seqCursor{}
	}
	return seqCursor{c: l.seqs.Cursor()}
}

// seqCursor walks a seqs index; the zero one is empty.
type seqCursor struct{ c *bbolt.Cursor }

func (c seqCursor) first() (uint64, time.Time, bool) { return c.at(c.move((*bbolt.Cursor).First)) }
func (c seqCursor) last() (uint64, time.Time, bool)  { return c.at(c.move((*bbolt.Cursor).Last)) }
func (c seqCursor) next() (uint64, time.Time, bool)  { return c.at(c.move((*bbolt.Cursor).Next)) }
func (c seqCursor) prev() (uint64, time.Time, bool)  { return c.at(c.move((*bbolt.Cursor).Prev)) }

func (c seqCursor) move(step func(*bbolt.Cursor) ([]byte, []byte)) ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	return step(c.c)
}

func (c seqCursor) at(k, v []byte) (uint64, time.Time, bool) {
	if len(k) != 8 || len(v) != 8 {
		return 0, time.Time{}, false
	}
	return binary.BigEndian.Uint64(k), valueTime(v), true
}

// decodeDelivery decodes the stored form of delivery seq of subID (state.DecodeDeliveryRecord),
// naming the delivery in its error.
func decodeDelivery(subID string, seq uint64, v []byte) (*state.DeliveryRecord, error) {
	rec, err := state.DecodeDeliveryRecord(subID, v)
	if err != nil {
		return nil, fmt.Errorf("decode delivery %s/%d: %w", subID, seq, err)
	}
	return rec, nil
}
