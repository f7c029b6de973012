package bolt

import (
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// migrateDueBySubscription (5→6) indexes what is due by subscription (dueindex.go): each entry of
// the version-5 due index, ordered by time alone (<time><seq><subscription key>), moves under its
// subscription's prefix, and heads/ gets each subscription's earliest. The heads bucket exists
// already: Open creates every bucket before it migrates.
func migrateDueBySubscription(tx *bbolt.Tx) error {
	type entry struct {
		at    time.Time
		seq   uint64
		subID string
	}
	var entries []entry
	err := tx.Bucket(bucketDue).ForEach(func(k, _ []byte) error {
		at, seq, subID, ok := parseDueKey(k)
		if !ok {
			return fmt.Errorf("malformed version-5 due key %x", k)
		}
		entries = append(entries, entry{at, seq, subID})
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketDue); err != nil {
		return err
	}
	if _, err := tx.CreateBucket(bucketDue); err != nil {
		return err
	}
	x := openDueIndex(tx)
	for _, e := range entries {
		if err := x.put(e.subID, e.at, e.seq); err != nil {
			return err
		}
	}
	return nil
}
