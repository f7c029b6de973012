package bolt

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

// TestOpenWaitingForACompactionOpensTheCompactedFile: a connector started while compact runs waits
// for the file's lock; when the compaction has renamed its copy into place and let go, the
// connector must serve the file at the path, not the old one the rename unlinked: what it writes
// to an unlinked file is gone at its next start.
func TestOpenWaitingForACompactionOpensTheCompactedFile(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("before")
	require.NoError(t, d.Close())
	fillFile(t, d.path, 16<<20) // a compaction that takes a while

	compacted := make(chan error, 1)
	go func() {
		_, err := Compact(d.path, 5*time.Second)
		compacted <- err
	}()
	// The copy exists once Compact holds the lock; the rename comes when the copy is done.
	require.Eventually(t, func() bool {
		_, err := os.Stat(d.path + ".compacting")
		return err == nil
	}, 5*time.Second, time.Millisecond)
	d.opts.Timeout = 5 * time.Second
	d.Store = d.open() // waits for the lock Compact holds
	require.NoError(t, <-compacted)

	d.subscribe("after")
	d.reopen()
	_, err := d.Subscription("after")
	require.NoError(t, err, "the subscription created after the compaction is in the file at the path")
	_, err = d.Subscription("before")
	require.NoError(t, err)
}

// fillFile adds about n bytes of values to the file at path in a bucket of their own, which
// Compact copies like any other.
func fillFile(t *testing.T, path string, n int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	require.NoError(t, err)
	value := bytes.Repeat([]byte("x"), 4<<10)
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("filler"))
		if err != nil {
			return err
		}
		for i := range n / len(value) {
			if err := b.Put(fmt.Appendf(nil, "%08d", i), value); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
}
