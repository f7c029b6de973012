package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

func TestCountByStatusCountsEveryStatus(t *testing.T) {
	d := newTestDB(t)
	counts, err := d.CountByStatus()
	require.NoError(t, err)
	assert.Equal(t, map[state.Status]int{state.StatusActive: 0, state.StatusPaused: 0, state.StatusSuspended: 0, state.StatusDisabled: 0}, counts)

	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		d.subscribe(id)
	}
	require.NoError(t, d.SetStatus("s2", state.StatusPaused, "by a test"))
	require.NoError(t, d.SetStatus("s3", state.StatusSuspended, "401"))
	counts, err = d.CountByStatus()
	require.NoError(t, err)
	assert.Equal(t, map[state.Status]int{state.StatusActive: 2, state.StatusPaused: 1, state.StatusSuspended: 1, state.StatusDisabled: 0}, counts)
}

func TestAllSubscriptionsListsEveryConnectionWithoutSecrets(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	other := validSubscription()
	other.ID, other.ConnectionID = "s2", "conn-b"
	_, err := d.CreateSubscription(other)
	require.NoError(t, err)
	require.NoError(t, d.SetStatus("s2", state.StatusPaused, "held"))

	all, err := d.AllSubscriptions("")
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"s1", "s2"}, []string{all[0].ID, all[1].ID})
	assert.Equal(t, []string{"conn-a", "conn-b"}, []string{all[0].ConnectionID, all[1].ConnectionID})
	for _, sub := range all {
		assert.Empty(t, sub.Token)
		assert.Empty(t, sub.Secret)
		assert.Empty(t, sub.PreviousSecret)
	}

	paused, err := d.AllSubscriptions(state.StatusPaused)
	require.NoError(t, err)
	require.Len(t, paused, 1)
	assert.Equal(t, "s2", paused[0].ID)
	assert.Equal(t, "held", paused[0].StatusReason)

	_, err = d.AllSubscriptions("sleeping")
	assert.ErrorIs(t, err, state.ErrInvalid)
}

func TestBackupIsAConsistentDatabaseThatOpensWithTheSameKey(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("e", 3)}}))

	var buf bytes.Buffer
	var size int64
	n, err := d.BackupSized(func(s int64) { size = s }, &buf)
	require.NoError(t, err)
	assert.Equal(t, int64(buf.Len()), n)
	assert.Equal(t, size, n, "the size told first is what is written")

	// A write after the backup is not in it.
	d.subscribe("s2")

	path := filepath.Join(t.TempDir(), "restored.db")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}))
	require.NoError(t, db.Close())

	restored, err := Open(path, d.opts)
	require.NoError(t, err)
	defer restored.Close()
	all, err := restored.AllSubscriptions("")
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "s1", all[0].ID)
	due, err := restored.DueDeliveries(time.Now().Add(time.Hour), 10, nil)
	require.NoError(t, err)
	assert.Len(t, due, 1, "the FIFO head of the three pending deliveries")
}
