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

// v5More is the fourth subscription of testdata/schema-v5.bbolt (the v4 fixture's three, migrated,
// and this best-effort one with an id of its own: four deliveries, the second retried at +3m, the
// third delivered).
const v5More = "v5-more"

// TestMigratesV5ToV6 opens a version-5 file (written by the version-5 code) and reads everything
// back exactly as the version-5 code read it (testdata/schema-v5.read.json): above all what is due
// at +0s, +1m and +3m, in the same order, now from the index by subscription. Then the migrated
// file goes on like a new one, its heads true after every change.
func TestMigratesV5ToV6(t *testing.T) {
	d := openFixture(t, "testdata/schema-v5.bbolt")
	d.clock.Advance(10 * time.Second) // where the version-5 code's clock stood when it read the file

	want, err := os.ReadFile("testdata/schema-v5.read.json")
	require.NoError(t, err)
	world := readV4World(t, d)
	log, err := d.Deliveries(v5More, 0)
	require.NoError(t, err)
	world.Deliveries[v5More] = log
	for _, dl := range log {
		world.ByID[dl.ID] = dl.Seq
	}
	world.Pending[v5More], err = d.PendingCount(v5More)
	require.NoError(t, err)
	got, err := json.MarshalIndent(world, "", "  ")
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, u64Key(SchemaVersion), tx.Bucket(bucketMeta).Get(keySchemaVersion))
		assert.Equal(t, 4, tx.Bucket(bucketHeads).Stats().KeyN, "one head per subscription with due work, paused ones too")
		return checkHeads(tx)
	}))

	d.clock.Advance(3 * time.Minute)
	require.NoError(t, d.RecordAttempt(v5More, 2, state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: v5More, Events: events("e", 2)}}))
	assert.Equal(t, []string{"d1", "d4", "e1", "e2"}, eventIDs(pickAll(t, d, v5More)))
	require.NoError(t, d.db.View(checkHeads))
	require.NoError(t, d.DeleteSubscription(v5More))
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 3, tx.Bucket(bucketHeads).Stats().KeyN, "its head went with it")
		return checkHeads(tx)
	}))
}

// pickAll is what is due now of subscription subID alone.
func pickAll(t *testing.T, d *testDB, subID string) []state.Delivery {
	t.Helper()
	due, err := d.PickDue(d.clock.Now(), 0, state.PickFunc(func(sub string, _ uint64) state.Pick {
		if sub != subID {
			return state.SkipSubscription
		}
		return state.Take
	}))
	require.NoError(t, err)
	return due
}
