package bolt

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// TestCompactRefusesADamagedFile: compact on a file with a damaged page (a bad disk, a torn copy)
// says so in an error, as it does for a busy file, instead of crashing with a panic half-way through
// the copy; the file is left as it was and no partial copy is left beside it.
func TestCompactRefusesADamagedFile(t *testing.T) {
	d := newTestDB(t)
	d.subscribeWith("s", state.OrderingBestEffort)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: bigEvents("e", 200)}}))
	require.NoError(t, d.Close())
	healthy, err := os.ReadFile(d.path)
	require.NoError(t, err)
	pageSize := int64(os.Getpagesize())
	for _, c := range []struct {
		pages []int64
		fill  byte
	}{
		{[]int64{2}, 0}, {[]int64{4}, 0}, {[]int64{5}, 0}, // pages of data, zeroed
		{[]int64{2, 3, 4, 5, 6, 7, 8, 9}, 0xa5}, // the freelist, garbled with pages of data
	} {
		t.Run(fmt.Sprint("pages ", c.pages), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.db")
			damaged := append([]byte(nil), healthy...)
			for _, page := range c.pages {
				for i := page * pageSize; i < (page+1)*pageSize; i++ {
					damaged[i] = c.fill
				}
			}
			require.NoError(t, os.WriteFile(path, damaged, 0o600))

			require.NotPanics(t, func() { _, err = Compact(path, time.Second) })
			require.Error(t, err)
			assert.Contains(t, err.Error(), "damaged")
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, damaged, after, "the file is as it was")
			_, err = os.Stat(path + ".compacting")
			assert.ErrorIs(t, err, os.ErrNotExist, "no partial copy left behind")
		})
	}
	d.Store = d.open()
}
