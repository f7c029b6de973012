package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

// TestMigratesV3ToV4 opens a version-3 file (written by the version-3 code, kept in testdata/)
// and reads everything back exactly as the version-3 code read it (testdata/schema-v3.read.json,
// written by that code from the same file): the records moved into the one log bucket, in their
// new form. Then the migrated file goes on like a new one: seqs go on from where they were, ids
// are found, a FIFO queue moves on, a subscription's deletion takes its records.
func TestMigratesV3ToV4(t *testing.T) {
	d := openFixture(t, "testdata/schema-v3.bbolt")

	want, err := os.ReadFile("testdata/schema-v3.read.json")
	require.NoError(t, err)
	got, err := json.MarshalIndent(readV3World(t, d), "", "  ")
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, u64Key(SchemaVersion), tx.Bucket(bucketMeta).Get(keySchemaVersion), "and on to the current version")
		assert.Nil(t, tx.Bucket(bucketV3Pending), "the pending index is gone")
		assert.Equal(t, 3, tx.Bucket(bucketFIFO).Bucket([]byte("v3-b")).Stats().KeyN, "v3-b's FIFO queue: b1, b2, b3")
		return tx.Bucket(bucketOutbox).ForEachBucket(func(k []byte) error {
			assert.Nil(t, tx.Bucket(bucketOutbox).Bucket(k).Bucket(bucketV3OutboxLog), "%s: the nested log is gone", k)
			return nil
		})
	}))

	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "v3-a", Events: events("n", 1)},
		{SubscriptionID: "v3-b", Events: events("n", 1)},
		{SubscriptionID: "v3-a", Events: events("a", 4)}, // queued before: nothing new
	}))
	for id, seq := range map[string]uint64{"v3-a": 6, "v3-b": 4} {
		log, err := d.Deliveries(id, 1)
		require.NoError(t, err)
		assert.Equal(t, seq, log[0].Seq, "%s: the next seq after the version-3 ones", id)
	}
	a2, err := d.Delivery("v3-a", state.DeliveryID("v3-a", "a2"))
	require.NoError(t, err)
	assert.Equal(t, 2, a2.RoundAttempts)

	d.clock.Advance(time.Minute)
	require.NoError(t, d.RecordAttempt("v3-b", 1, state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Contains(t, eventIDs(d.due(0)), "b2", "the FIFO queue moves on to b2")

	require.NoError(t, d.DeleteSubscription("v3-a"))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 5, tx.Bucket(bucketLog).Stats().KeyN, "v3-a's records went with it: v3-b's 4 and v3-c's 1 remain")
		assert.Equal(t, 4, tx.Bucket(bucketQueued).Stats().KeyN, "pending: b2, b3, n1 and c1")
		return nil
	}))
	log, err := d.Deliveries("v3-b", 0)
	require.NoError(t, err)
	assert.Len(t, log, 4)
}

// v3World is everything a caller can read of the schema-v3 fixture: each subscription's delivery
// log, what is due at three moments, the outbox counts and the endpoint's circuit.
type v3World struct {
	Deliveries map[string][]state.Delivery
	Due        map[string][]string // "+0s", "+1m0s", "+3m0s" → delivery ids, in order
	Stats      state.PendingStats
	Endpoint   state.Endpoint
}

func readV3World(t *testing.T, d *testDB) v3World {
	t.Helper()
	w := v3World{Deliveries: map[string][]state.Delivery{}, Due: map[string][]string{}}
	for _, id := range []string{"v3-a", "v3-b", "v3-c"} {
		log, err := d.Deliveries(id, 0)
		require.NoError(t, err)
		w.Deliveries[id] = log
	}
	for _, after := range []time.Duration{0, time.Minute, 3 * time.Minute} {
		due, err := d.DueDeliveries(d.clock.Now().Add(after), 0, nil)
		require.NoError(t, err)
		ids := []string{}
		for _, dl := range due {
			ids = append(ids, dl.ID)
		}
		w.Due["+"+after.String()] = ids
	}
	var err error
	w.Stats, err = d.Stats()
	require.NoError(t, err)
	w.Endpoint, _, err = d.Endpoint("https://sink.example:443")
	require.NoError(t, err)
	return w
}
