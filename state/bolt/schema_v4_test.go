package bolt

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// The subscriptions of testdata/schema-v4.bbolt, written by the version-4 code: a best-effort one
// with a UUID (delivered, retried twice, dead, dead and resent, a catch-up note, waiting), a FIFO one
// with an id of its own (its head retried, its endpoint's circuit counting), and a paused one with a
// UUID whose payload is not JSON.
const (
	v4Best   = "4a1c5e7e-9b1d-4f3e-8a2b-0c6d7e8f9a01"
	v4FIFO   = "v4-fifo"
	v4Paused = "6f0e2d1c-3b4a-4958-9786-a5b4c3d2e1f0"
)

// TestMigratesV4ToV5 opens a version-4 file and reads everything back exactly as the version-4 code
// read it (testdata/schema-v4.read.json, written by that code from the same file): the records in
// their compact form, the keys with their subscriptions' short form, the ids index by the ids' 16
// bytes. Then the migrated file goes on like a new one.
func TestMigratesV4ToV5(t *testing.T) {
	d := openFixture(t, "testdata/schema-v4.bbolt")
	d.clock.Advance(8 * time.Second) // where the version-4 code's clock stood when it read the file

	want, err := os.ReadFile("testdata/schema-v4.read.json")
	require.NoError(t, err)
	got, err := json.MarshalIndent(readV4World(t, d), "", "  ")
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, u64Key(SchemaVersion), tx.Bucket(bucketMeta).Get(keySchemaVersion))
		return tx.Bucket(bucketLog).ForEach(func(k, v []byte) error {
			assert.Equal(t, []byte{2}, v[:1], "a version-5 record under %x", k)
			if _, _, subID, _ := parseDueKey(k); subID != v4FIFO {
				assert.Len(t, k, 16+17, "a UUID in its short form")
			}
			return nil
		})
	}))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		return openSubLog(tx, v4Best).ids.ForEach(func(k, _ []byte) error {
			assert.Len(t, k, 16, "an id by its 16 bytes")
			return nil
		})
	}))

	// What a version-4 file's events were stays known: committing them again queues nothing.
	var again []state.Event
	for _, ev := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		again = append(again, state.Event{ID: ev, Type: "message.posted", Payload: []byte(`{}`)})
	}
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: v4Best, Events: append(again, state.Event{ID: "a7", Type: "message.posted", Payload: []byte(`{"id":"a7"}`)})},
	}))
	log, err := d.Deliveries(v4Best, 0)
	require.NoError(t, err)
	require.Len(t, log, 7)
	assert.Equal(t, "a7", log[0].EventID)
	assert.Equal(t, uint64(8), log[0].Seq, "seqs go on")
	n, err := d.PendingCount(v4Best)
	require.NoError(t, err)
	assert.Equal(t, 4, n, "a2, a4, a6 and a7")

	d.clock.Advance(2 * time.Minute)
	require.NoError(t, d.RecordAttempt(v4FIFO, 1, state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Contains(t, eventIDs(d.due(0)), "b2", "the FIFO queue moves on")
	resent, err := d.Resend(v4Best, state.DeliveryID(v4Best, "a1"))
	require.NoError(t, err)
	assert.Equal(t, "a1", resent.EventID)
	assert.JSONEq(t, `{"date":"2026-03-01T12:00:00.000000+00:00","from":{"id":2,"mention_name":"dee","name":"Dee Park"},"id":"a1","mentions":[],"message":"one","room_id":"r1","type":"message"}`,
		string(resent.Payload), "the same bytes go out again")

	require.NoError(t, d.DeleteSubscription(v4Best))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 3+1, tx.Bucket(bucketLog).Stats().KeyN, "its records went with it: the FIFO one's 3 and the paused one's 1 remain")
		assert.Equal(t, 3, tx.Bucket(bucketQueued).Stats().KeyN, "pending: b2, b3 and c1")
		return nil
	}))
}

// v4World is everything a caller can read of the schema-v4 fixture.
type v4World struct {
	Deliveries map[string][]state.Delivery
	ByID       map[string]uint64   // delivery id → seq, found by the id
	Due        map[string][]string // "+0s", "+1m0s", "+3m0s" → delivery ids, in order
	Pending    map[string]int
	Stats      state.PendingStats
	Endpoint   state.Endpoint
}

func readV4World(t *testing.T, d *testDB) v4World {
	t.Helper()
	w := v4World{Deliveries: map[string][]state.Delivery{}, ByID: map[string]uint64{}, Due: map[string][]string{}, Pending: map[string]int{}}
	for _, id := range []string{v4Best, v4FIFO, v4Paused} {
		log, err := d.Deliveries(id, 0)
		require.NoError(t, err)
		w.Deliveries[id] = log
		for _, dl := range log {
			got, err := d.Delivery(id, dl.ID)
			require.NoError(t, err)
			w.ByID[dl.ID] = got.Seq
		}
		w.Pending[id], err = d.PendingCount(id)
		require.NoError(t, err)
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
