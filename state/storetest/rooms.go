package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// testResolvedRooms: the room a subscription was resolved to when it was made is stored and read
// back; one stored without it (before rooms were resolved) reads as unresolved, and the first
// commit of its feed that brings it stores it once, beside the cursor or alone, and never replaces
// one already stored. A room subscription takes none.
func testResolvedRooms(t *testing.T, d *env) {
	ops := triggers.ResolvedRoom{ID: 7, Name: "Ops Team"}
	sub := validSubscription()
	sub.RoomID, sub.Room = "Ops Team", ops
	created, err := d.CreateSubscription(sub)
	require.NoError(t, err)
	assert.Equal(t, ops, created.Room)
	got, err := d.Subscription(created.ID)
	require.NoError(t, err)
	assert.Equal(t, ops, got.Room)
	assert.Equal(t, "Ops Team", got.RoomID, "the room as given is kept beside it")

	legacy, err := d.CreateSubscription(validSubscription())
	require.NoError(t, err)
	assert.False(t, legacy.Room.Resolved())
	d.commit(state.CursorAdvance{SubscriptionID: legacy.ID, Room: triggers.ResolvedRoom{ID: 1, Name: "r1"}})
	got, err = d.Subscription(legacy.ID)
	require.NoError(t, err)
	assert.Equal(t, triggers.ResolvedRoom{ID: 1, Name: "r1"}, got.Room, "stored by a commit with neither cursor nor events")
	d.commit(state.CursorAdvance{SubscriptionID: legacy.ID, Cursor: []byte("c1"), Room: triggers.ResolvedRoom{ID: 9, Name: "renamed"}, Events: events("m", 1)})
	got, err = d.Subscription(legacy.ID)
	require.NoError(t, err)
	assert.Equal(t, triggers.ResolvedRoom{ID: 1, Name: "r1"}, got.Room, "resolved once, never replaced")
	assert.Equal(t, []byte("c1"), got.Cursor)

	polled, err := d.PolledSubscriptions()
	require.NoError(t, err)
	rooms := map[string]triggers.ResolvedRoom{}
	for _, s := range polled {
		rooms[s.ID] = s.Room
	}
	assert.Equal(t, ops, rooms[created.ID], "the poller reads the room")

	list := validSubscription()
	list.Kind, list.RoomID, list.Room = triggers.KindRoom, "", ops
	_, err = d.CreateSubscription(list)
	assert.ErrorIs(t, err, state.ErrInvalid, "a room subscription has no room to resolve")
}
