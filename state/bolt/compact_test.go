package bolt

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// TestCompactGivesBackWhatDeletedSubscriptionsLeft: a file that held many deliveries keeps its size
// after their subscriptions are deleted (bbolt keeps the pages, free); Compact shrinks it to about
// the live data, and the file opens as before with the same key: what survived is all there, and
// goes on working.
func TestCompactGivesBackWhatDeletedSubscriptionsLeft(t *testing.T) {
	d := newTestDB(t)
	const subs, perSub = 20, 1000
	for i := range subs {
		d.subscribeWith(fmt.Sprint("s", i), state.OrderingBestEffort)
		require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: fmt.Sprint("s", i), Events: bigEvents("e", perSub)}}))
	}
	deliverAllDue(t, d.Store, d.clock.Now())
	for i := 1; i < subs; i++ {
		require.NoError(t, d.DeleteSubscription(fmt.Sprint("s", i)))
	}
	stats, err := d.FileStats()
	require.NoError(t, err)
	live := stats.UsedBytes
	assert.Greater(t, stats.FreeBytes, 3*live, "most of the file is free pages: %+v", stats)
	require.NoError(t, d.Close())

	done, err := Compact(d.path, time.Second)
	require.NoError(t, err)
	assert.Equal(t, stats.Size, done.Before)
	// bbolt sizes a new file at the power of two (up to 16 MB) that holds its data.
	assert.LessOrEqual(t, done.After, 2*live, "about the live data it held (%d bytes): %+v", live, done)
	assert.Less(t, done.After, done.Before/10, "%+v", done)
	_, err = os.Stat(d.path + ".compacting")
	assert.ErrorIs(t, err, os.ErrNotExist, "no leftover")

	d.Store = d.open()
	log, err := d.Deliveries("s0", 0)
	require.NoError(t, err)
	require.Len(t, log, perSub)
	assert.Equal(t, state.DeliveryDelivered, log[0].Status)
	_, err = d.Subscription("s1")
	assert.ErrorIs(t, err, state.ErrNotFound)
	resent, err := d.Resend("s0", log[0].ID)
	require.NoError(t, err, "the compacted file takes writes")
	assert.Equal(t, log[0].Payload, resent.Payload)
	n, err := d.PendingCount("s0")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestCompactRefusesAFileInUseOrNotAConnectorsDatabase: compaction is offline, and only of the
// connector's own files; a refusal leaves the file as it was.
func TestCompactRefusesAFileInUseOrNotAConnectorsDatabase(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s")
	before, err := os.ReadFile(d.path)
	require.NoError(t, err)
	_, err = Compact(d.path, 50*time.Millisecond)
	require.ErrorContains(t, err, "another process holds the database")
	after, err := os.ReadFile(d.path)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	other := filepath.Join(t.TempDir(), "other.db")
	db, err := bbolt.Open(other, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("theirs"))
		return err
	}))
	require.NoError(t, db.Close())
	_, err = Compact(other, time.Second)
	assert.ErrorIs(t, err, state.ErrSchemaVersion)

	_, err = Compact(filepath.Join(t.TempDir(), "missing.db"), time.Second)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// bigEvents are events with payloads the size of a HipChat message's.
func bigEvents(prefix string, n int) []state.Event {
	evs := make([]state.Event, n)
	for i := range evs {
		evs[i] = state.Event{ID: fmt.Sprintf("%s%d", prefix, i+1), Type: "message.created", Payload: messagePayload(1, i, time.Unix(1767225600, 0))}
	}
	return evs
}

// A compaction's sizes read as MB, or kB below one MB.
func TestCompactedReadsInMegabytesOrKilobytes(t *testing.T) {
	assert.Equal(t, "135.3 MB → 32.8 kB", Compacted{Before: 135_300_000, After: 32_768}.String())
	assert.Equal(t, "999.9 kB → 1.0 MB", Compacted{Before: 999_900, After: 1_000_000}.String())
}
