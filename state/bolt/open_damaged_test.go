package bolt

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// TestOpenRefusesADamagedFile: opening a file with a damaged page (a bad disk, a torn copy) is an
// error that names the file and says to restore a backup, instead of a panic inside bbolt (at open,
// in the first transaction, or at the first read of that page while serving) or a crash on a page
// past the end of the file; and the file is left byte for byte as it was (a start that committed its
// first transaction before it met the damage wrote to it).
func TestOpenRefusesADamagedFile(t *testing.T) {
	d := newTestDB(t)
	d.subscribeWith("s", state.OrderingBestEffort)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: bigEvents("e", 200)}}))
	// The pages in use: the root bucket's leaf, a bucket whose root is a branch, and the freelist.
	var branch int
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		for _, name := range topLevelBuckets {
			if info, err := tx.Page(int(tx.Bucket(name).RootPage())); err == nil && info != nil && info.Type == "branch" {
				branch = info.ID
			}
		}
		return nil
	}))
	require.NotZero(t, branch, "a bucket large enough to have a branch page")
	require.NoError(t, d.Close())
	healthy, err := os.ReadFile(d.path)
	require.NoError(t, err)
	pageSize := os.Getpagesize()
	page := func(b []byte, id int) []byte { return b[id*pageSize : (id+1)*pageSize] }
	// The meta page of the last transaction (bbolt's layout: a 16-byte page header, then magic,
	// version, page size, flags, the root bucket {root, sequence}, freelist, high water mark, txid).
	meta := page(healthy, 0)
	if other := page(healthy, 1); binary.LittleEndian.Uint64(other[64:]) > binary.LittleEndian.Uint64(meta[64:]) {
		meta = other
	}
	rootLeaf := int(binary.LittleEndian.Uint64(meta[32:]))
	freelist := int(binary.LittleEndian.Uint64(meta[48:]))
	// A branch page's elements follow its header: {pos uint32, ksize uint32, pgid uint64}.
	leafUnderBranch := int(binary.LittleEndian.Uint64(page(healthy, branch)[16+8:]))
	fill := func(b byte) func([]byte) {
		return func(p []byte) {
			for i := range p {
				p[i] = b
			}
		}
	}
	for name, c := range map[string]struct {
		page   int
		damage func(page []byte)
	}{
		"the freelist garbled (bbolt's open panics)":      {freelist, fill(0xa5)},
		"the root bucket's page zeroed (the first write)": {rootLeaf, fill(0)},
		"a branch page zeroed":                            {branch, fill(0)},
		"a leaf page garbled (read only while serving)":   {leafUnderBranch, fill(0xa5)},
		// Reading a page past the end of the file faults, which the Go runtime does not turn into a
		// panic unless asked to: the whole process dies.
		"a branch pointing past the end of the file": {branch, func(p []byte) {
			binary.LittleEndian.PutUint64(p[16+8:], uint64(len(healthy)/pageSize+100))
		}},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.db")
			damaged := append([]byte(nil), healthy...)
			c.damage(page(damaged, c.page))
			require.NoError(t, os.WriteFile(path, damaged, 0o600))

			var s *Store
			require.NotPanics(t, func() { s, err = Open(path, d.opts) })
			if s != nil {
				_ = s.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), "damaged")
			assert.Contains(t, err.Error(), "backup")
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, string(damaged) == string(after), "the file is as it was")
		})
	}
	d.Store = d.open()
}
