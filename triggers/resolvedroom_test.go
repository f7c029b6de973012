package triggers_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// A polling trigger given the room by name and one given it by id deliver the same message with
// HipChat's numeric id and the room's name.
func TestPollingByNameAndByIDGiveTheSameRoomID(t *testing.T) {
	w := newWorld(t)
	id := w.room("Ops Team")
	byName := baseline(t, w, triggers.KindMessage, "Ops Team")
	byID := baseline(t, w, triggers.KindMessage, id)
	posted := w.post(id, 1, time.Millisecond, "deploy")

	for room, state := range map[string]string{"Ops Team": byName, id: byID} {
		poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, triggers.FilterSpec{}, state)
		require.NoError(t, err)
		require.True(t, poll.HasItems(), "room %q", room)
		items := poll.Items.(triggers.HistoryResponse).Items
		require.Len(t, items, 1)
		assert.Equal(t, posted[0], items[0].ID)
		assert.Equal(t, id, strconv.Itoa(items[0].RoomID), "room given as %q", room)
		assert.Equal(t, "Ops Team", items[0].RoomName, "room given as %q", room)
	}
}

// The first poll of an unknown room is HipChat's 404, before any state is issued.
func TestPollingAnUnknownRoomIsNotFound(t *testing.T) {
	w := newWorld(t)
	_, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, "Nowhere", triggers.FilterSpec{}, "")
	var hipchatErr *connector.Error
	require.ErrorAs(t, err, &hipchatErr)
	assert.Equal(t, connector.KindNotFound, hipchatErr.Kind)
}

// A state issued before rooms were resolved (no room in it) still works: the poll that brings it
// resolves the room with one call, its items carry it, and the next state has it, so the poll
// after makes no such call again.
func TestAStateWithoutAResolvedRoomIsResolvedOnItsNextPoll(t *testing.T) {
	w := newWorld(t)
	id := w.room("Legacy")
	codec, err := triggers.NewStateCodec(bytes.Repeat([]byte{1}, 32)) // the world's key
	require.NoError(t, err)
	cursor, err := triggers.MessageBaseline(w.ctx, w.client, w.conn, id)
	require.NoError(t, err)
	old := codec.EncodeMessages(w.conn.ID, triggers.KindMessage, id, triggers.MessageState{Cursor: cursor})
	w.post(id, 1, time.Millisecond, "after the upgrade")

	before := w.hipchatCalls()
	poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, id, triggers.FilterSpec{}, old)
	require.NoError(t, err)
	assert.Equal(t, 2, w.hipchatCalls()-before, "the room, then the history")
	items := poll.Items.(triggers.HistoryResponse).Items
	require.Len(t, items, 1)
	assert.Equal(t, id, strconv.Itoa(items[0].RoomID))
	assert.Equal(t, "Legacy", items[0].RoomName)

	next, err := codec.DecodeMessages(poll.State, w.conn.ID, triggers.KindMessage, id, triggers.FilterSpec{})
	require.NoError(t, err)
	assert.Equal(t, triggers.ResolvedRoom{ID: items[0].RoomID, Name: "Legacy"}, next.Room)
	before = w.hipchatCalls()
	_, err = w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, id, triggers.FilterSpec{}, poll.State)
	require.NoError(t, err)
	assert.Equal(t, 1, w.hipchatCalls()-before, "the history only")
}
