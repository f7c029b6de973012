package state

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/schema-v1.bbolt")

const fixtureV1 = "testdata/schema-v1.bbolt"

// TestOpensSchemaV1File opens a file written by the first layout (kept in
// testdata/, sealed with testKey(7)) and reads everything back. When the
// layout changes, this file is what the migration must carry forward; keep
// it and add one for the new version.
func TestOpensSchemaV1File(t *testing.T) {
	if *update {
		writeFixtureV1(t)
	}
	raw, err := os.ReadFile(fixtureV1)
	require.NoError(t, err)
	d := newTestDB(t)
	require.NoError(t, d.Close())
	require.NoError(t, os.WriteFile(d.path, raw, 0o600))
	d.Store = d.open()

	assert.Len(t, d.ServerKey(), 32)
	sub, err := d.Subscription("fixture-sub")
	require.NoError(t, err)
	assert.Equal(t, "fixture-token", sub.Token)
	assert.Equal(t, "whsec_fixture", sub.Secret)
	assert.Equal(t, "cursor-2", string(sub.Cursor))
	assert.Equal(t, 1, sub.Health.ConsecutiveFailures)

	log, err := d.Deliveries("fixture-sub", 0)
	require.NoError(t, err)
	require.Len(t, log, 2)
	assert.Equal(t, DeliveryPending, log[0].Status)
	assert.Equal(t, DeliveryDelivered, log[1].Status)
	assert.Equal(t, DeliveryID("fixture-sub", "e1"), log[1].ID)
	assert.Equal(t, `{"id":"e2"}`, string(log[0].Payload))
	assert.Empty(t, d.due(0), "e2 waits for its retry time")
	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"e2"}, eventIDs(d.due(0)))
}

func writeFixtureV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	s, err := Open(path, Options{Key: testKey(7), Now: newClock().Now})
	require.NoError(t, err)
	_, err = s.CreateSubscription(Subscription{
		ID: "fixture-sub", ConnectionID: "conn-fixture", Kind: KindMessage, RoomID: "r1",
		CallbackURL: "https://sink.example/hook", Token: "fixture-token", Secret: "whsec_fixture",
		HipChatURL: "https://api.hipchat.com",
	})
	require.NoError(t, err)
	require.NoError(t, s.CommitFeed([]CursorAdvance{{SubscriptionID: "fixture-sub", Cursor: []byte("cursor-2"), Events: events("e", 2)}}))
	require.NoError(t, s.RecordAttempt("fixture-sub", 1, Attempt{StatusCode: 200}, Delivered()))
	require.NoError(t, s.RecordAttempt("fixture-sub", 2, Attempt{StatusCode: 503}, RetryAt(newClock().Now().Add(time.Minute))))
	require.NoError(t, s.Close())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(fixtureV1, raw, 0o644))
}
