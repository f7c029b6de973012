package bolt

import (
	"bytes"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// migrateCompactRecords (4→5) makes what a delivered event costs the file smaller:
//
//   - every delivery record takes the version-5 form (deliveryformat.go): its text compressed, its
//     id computed again from its subscription and event, its times a few bytes;
//   - the keys of log/, queued/ and due/ end in a subscription's key form (subKey in due.go): 17
//     bytes for the UUID the API gives every subscription, where its text took 36;
//   - an ids index holds the 16 bytes of a delivery id that state.DeliveryID made (idKey in
//     sublog.go), where its text took 30.
//
// Key forms are read with the version-5 parser, which reads a version-4 key (an id as it is) alike,
// so keys the earlier migrations of the same open wrote in the new form are taken as they are.
func migrateCompactRecords(tx *bbolt.Tx) error {
	if err := rekeyRecords(tx.Bucket(bucketLog), true); err != nil {
		return fmt.Errorf("log: %w", err)
	}
	for _, name := range [][]byte{bucketQueued, bucketDue} {
		if err := rekeyRecords(tx.Bucket(name), false); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	outbox := tx.Bucket(bucketOutbox)
	return outbox.ForEachBucket(func(subID []byte) error {
		ids := outbox.Bucket(subID).Bucket(bucketOutboxIDs)
		if ids == nil {
			return nil
		}
		return rewriteBucket(ids, func(k, v []byte) ([]byte, []byte, error) {
			return idKey(string(k)), v, nil
		})
	})
}

// rekeyRecords rewrites every key of b (log/, queued/ or due/) with its subscription's key form and,
// when records, every value in the version-5 record form.
func rekeyRecords(b *bbolt.Bucket, records bool) error {
	return rewriteBucket(b, func(k, v []byte) ([]byte, []byte, error) {
		at, seq, subID, ok := parseDueKey(k)
		if !ok {
			return nil, nil, fmt.Errorf("malformed key %x", k)
		}
		if !records {
			return dueKey(at, seq, subID), v, nil
		}
		rec, err := decodeDelivery(subID, seq, v)
		if err != nil {
			return nil, nil, err
		}
		return dueKey(at, seq, subID), state.EncodeDeliveryRecord(subID, rec), nil
	})
}

// rewriteBucket replaces each key and value of b by what rewrite makes of them. It reads them all
// first (a bucket must not change under its cursor), then deletes the keys that change and puts
// the new entries.
func rewriteBucket(b *bbolt.Bucket, rewrite func(k, v []byte) ([]byte, []byte, error)) error {
	type entry struct{ oldKey, key, value []byte }
	var entries []entry
	err := b.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil // a nested bucket: none is expected here
		}
		key, value, err := rewrite(k, v)
		if err != nil {
			return err
		}
		entries = append(entries, entry{oldKey: bytes.Clone(k), key: key, value: bytes.Clone(value)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !bytes.Equal(e.oldKey, e.key) {
			if err := b.Delete(e.oldKey); err != nil {
				return err
			}
		}
	}
	for _, e := range entries {
		if err := b.Put(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}
