package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
)

func testCommitFeedOrder(t *testing.T, d *env) {
	d.subscribe("s1")
	d.subscribe("s2")
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Cursor: []byte("c3"), Events: events("m", 3)},
		state.CursorAdvance{SubscriptionID: "s2", Cursor: []byte("c2"), Events: events("m", 2)})
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Cursor: []byte("c5"),
		Events: []state.Event{{ID: "m4", Payload: []byte("not json")}, {ID: "m5", CatchUpNote: "cut 10"}}})

	assert.Equal(t, "c5", d.cursorOf("s1"))
	assert.Equal(t, "c2", d.cursorOf("s2"))
	log, err := d.Deliveries("s1", 0)
	require.NoError(t, err)
	assert.Equal(t, reversed([]string{"m1", "m2", "m3", "m4", "m5"}), eventIDs(log))
	for i, dl := range log {
		assert.Equal(t, uint64(5-i), dl.Seq) // #nosec G115 -- i < 5
		assert.Equal(t, state.DeliveryID("s1", dl.EventID), dl.ID)
		assert.Equal(t, "s1", dl.SubscriptionID)
		assert.Equal(t, state.DeliveryPending, dl.Status)
		assert.Equal(t, d.clock.Now(), dl.NextAttemptAt)
		assert.Equal(t, d.clock.Now(), dl.CreatedAt)
	}
	assert.Equal(t, "cut 10", log[0].CatchUpNote)
	assert.Equal(t, []byte("not json"), log[1].Payload, "a payload that is not JSON is kept as it is")
	assert.JSONEq(t, `{"id":"m3"}`, string(log[2].Payload))
	assert.Equal(t, "message.created", log[2].Type)
	limited, err := d.Deliveries("s1", 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"m5", "m4"}, eventIDs(limited))

	// A nil cursor leaves the cursor as it is (a test event).
	d.commit(state.CursorAdvance{SubscriptionID: "s2", Events: []state.Event{{ID: "test-1", Type: "test"}}})
	assert.Equal(t, "c2", d.cursorOf("s2"))
}

func testCommitFeedDedupe(t *testing.T, d *env) {
	d.subscribe("s1")
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Cursor: []byte("c2"), Events: events("m", 2)})
	require.NoError(t, d.record("s1", 1, state.Attempt{StatusCode: 204}, state.Delivered()))
	// The same read committed again (a crash before the cursor was seen), plus one more.
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Cursor: []byte("c3"), Events: events("m", 3)})
	assert.Equal(t, []string{"m3", "m2", "m1"}, d.log("s1"), "m1 (delivered) and m2 (pending) are not queued twice")
	dl, err := d.Delivery("s1", state.DeliveryID("s1", "m1"))
	require.NoError(t, err)
	assert.Equal(t, state.DeliveryDelivered, dl.Status)
	assert.Equal(t, "c3", d.cursorOf("s1"))
	_, err = d.Delivery("s1", "msg_unknown")
	assert.ErrorIs(t, err, state.ErrNotFound)
	_, err = d.Delivery("missing", dl.ID)
	assert.ErrorIs(t, err, state.ErrNotFound)
}

func testCommitFeedSkips(t *testing.T, d *env) {
	for _, id := range []string{"active", "paused", "suspended", "disabled", "deleted"} {
		d.subscribe(id)
	}
	require.NoError(t, d.SetStatus("paused", state.StatusPaused, "by a user"))
	require.NoError(t, d.SetStatus("suspended", state.StatusSuspended, "401"))
	require.NoError(t, d.SetStatus("disabled", state.StatusDisabled, "410"))
	require.NoError(t, d.DeleteSubscription("deleted"))
	var advances []state.CursorAdvance
	for _, id := range []string{"active", "paused", "suspended", "disabled", "deleted", "never-existed"} {
		advances = append(advances, state.CursorAdvance{SubscriptionID: id, Cursor: []byte("new"), Events: events("m", 2)})
	}
	d.commit(advances...)
	for _, tt := range []struct {
		id         string
		wantCursor string
		wantQueued int
	}{
		{"active", "new", 2}, {"paused", "new", 2}, {"suspended", "", 0}, {"disabled", "", 0},
	} {
		assert.Equal(t, tt.wantCursor, d.cursorOf(tt.id), tt.id)
		assert.Len(t, d.log(tt.id), tt.wantQueued, tt.id)
	}
	_, err := d.Subscription("deleted")
	assert.ErrorIs(t, err, state.ErrNotFound, "a commit does not resurrect a deleted subscription")
	assert.Equal(t, []string{"m1"}, d.due(0), "the paused subscription's events wait; FIFO: only the head")
}

func testCommitFeedInvalid(t *testing.T, d *env) {
	d.subscribe("s1")
	d.subscribe("s2")
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Cursor: []byte("c0")})
	err := d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Cursor: []byte("c9"), Events: events("m", 3)},
		{SubscriptionID: "s2", Cursor: []byte("c9"), Events: []state.Event{{ID: "m1"}, {ID: ""}}},
	})
	require.ErrorIs(t, err, state.ErrInvalid)
	assert.Equal(t, "c0", d.cursorOf("s1"))
	assert.Empty(t, d.log("s1"))
	assert.Empty(t, d.due(0))
}

// testCommitFeedLarge commits a feed bigger than one etcd transaction may be
// (128 operations, ~1.5 MiB): every event is queued once, in order, and every
// cursor advances.
func testCommitFeedLarge(t *testing.T, d *env) {
	const subs, perSub = 3, 120
	big := strings.Repeat("x", 4<<10)
	var advances []state.CursorAdvance
	for i := range subs {
		id := fmt.Sprintf("big%d", i)
		d.subscribeWith(id, state.OrderingBestEffort)
		evs := events("m", perSub)
		for j := range evs {
			evs[j].Payload = []byte(fmt.Sprintf(`{"id":"m%d","text":"%s"}`, j+1, big))
		}
		advances = append(advances, state.CursorAdvance{SubscriptionID: id, Cursor: []byte("end"), Events: evs})
	}
	d.commit(advances...)
	d.commit(advances...) // again: nothing twice
	var want []string
	for j := perSub; j >= 1; j-- {
		want = append(want, fmt.Sprintf("m%d", j))
	}
	for i := range subs {
		id := fmt.Sprintf("big%d", i)
		assert.Equal(t, want, d.log(id), id)
		assert.Equal(t, "end", d.cursorOf(id), id)
	}
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, subs*perSub, st.Pending)
	due, err := d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	assert.Len(t, due, subs*perSub, "every best-effort delivery is due, across pages of the due index")
}
