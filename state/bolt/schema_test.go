package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/triggers"
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
	assert.Equal(t, state.DeliveryPending, log[0].Status)
	assert.Equal(t, state.DeliveryDelivered, log[1].Status)
	assert.Equal(t, state.DeliveryID("fixture-sub", "e1"), log[1].ID)
	assert.Equal(t, `{"id":"e2"}`, string(log[0].Payload))
	assert.Empty(t, d.due(0), "e2 waits for its retry time")
	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"e2"}, eventIDs(d.due(0)))
}

// TestMigratesRoundAttemptsFromV1 opens a version-1 file (written by the
// version-1 code, kept in testdata/) whose deliveries went through failures,
// a dead letter and a resend, and checks that each delivery's round of
// attempts is carried over as version 1 derived it from the attempts' text.
func TestMigratesRoundAttemptsFromV1(t *testing.T) {
	d := openFixture(t, "testdata/schema-v1-rounds.bbolt")

	log, err := d.Deliveries("rounds-sub", 0)
	require.NoError(t, err)
	rounds := map[string]int{}
	statuses := map[string]string{}
	for _, dl := range log {
		rounds[dl.EventID], statuses[dl.EventID] = dl.RoundAttempts, dl.Status
	}
	assert.Equal(t, map[string]string{"e1": state.DeliveryPending, "e2": state.DeliveryPending, "e3": state.DeliveryDelivered}, statuses)
	assert.Equal(t, 1, rounds["e1"], "e1: one failure since its resend; the two before it belong to the dead-lettered round")
	assert.Equal(t, 3, rounds["e2"], "e2: three failures in its first round")
	assert.Equal(t, 0, rounds["e3"], "e3 ended its round with a 2xx")

	// The migrated file goes on like a new one: the next attempt counts on, a resend starts over.
	e1 := log[0]
	for _, dl := range log {
		if dl.EventID == "e1" {
			e1 = dl
		}
	}
	require.NoError(t, d.RecordAttempt("rounds-sub", e1.Seq, state.Attempt{StatusCode: 500}, state.Dead()))
	again, err := d.Delivery("rounds-sub", e1.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, again.RoundAttempts)
	resent, err := d.Resend("rounds-sub", e1.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, resent.RoundAttempts)
	assert.Len(t, resent.Attempts, 4, "a resend keeps the attempts of earlier rounds")
}

func writeFixtureV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	s, err := Open(path, Options{Key: testKey(7), Now: newClock().Now})
	require.NoError(t, err)
	_, err = s.CreateSubscription(state.Subscription{
		ID: "fixture-sub", ConnectionID: "conn-fixture", Kind: triggers.KindMessage, RoomID: "r1",
		CallbackURL: "https://sink.example/hook", Token: "fixture-token", Secret: "whsec_fixture",
		HipChatURL: "https://api.hipchat.com",
	})
	require.NoError(t, err)
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "fixture-sub", Cursor: []byte("cursor-2"), Events: events("e", 2)}}))
	require.NoError(t, s.RecordAttempt("fixture-sub", 1, state.Attempt{StatusCode: 200}, state.Delivered()))
	require.NoError(t, s.RecordAttempt("fixture-sub", 2, state.Attempt{StatusCode: 503}, state.RetryAt(newClock().Now().Add(time.Minute))))
	require.NoError(t, s.Close())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(fixtureV1, raw, 0o644))
}
