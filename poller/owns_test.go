package poller_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestATickPollsOnlyTheFeedsItOwns: with Options.Owns, a tick reads and commits only the feeds the
// replica owns; the others' cursors stay put until it owns them (another replica's turn), and then
// nothing is lost.
func TestATickPollsOnlyTheFeedsItOwns(t *testing.T) {
	w := newWorld(t)
	mine, theirs := w.room("Mine"), w.room("Theirs")
	subMine := w.subscribe(w.conn, triggers.KindMessage, mine)
	subTheirs := w.subscribe(w.conn, triggers.KindMessage, theirs)
	var mu sync.Mutex
	owned := map[string]bool{mine: true}
	asked := map[string]bool{}
	p := w.poller(poller.Options{Owns: func(connID, room string) bool {
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, w.conn.ID, connID)
		asked[room] = true
		return owned[room]
	}})

	postedMine := w.post(mine, 2, "mine")
	postedTheirs := w.post(theirs, 2, "theirs")
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	got := w.sink.Accepted()
	assert.ElementsMatch(t, postedMine, got[subMine.ID])
	assert.Empty(t, got[subTheirs.ID], "a feed another replica owns is not read here")
	assert.True(t, asked[theirs])
	before := w.subscription(subTheirs.ID).Cursor

	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, before, w.subscription(subTheirs.ID).Cursor, "its cursor is not written here")

	mu.Lock()
	owned[theirs] = true // the feed moved to this replica
	mu.Unlock()
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.ElementsMatch(t, postedTheirs, w.sink.Accepted()[subTheirs.ID], "nothing lost in the move")
}

// TestATickOwningNothingReadsNothing: a replica that owns no feed makes no HipChat call.
func TestATickOwningNothingReadsNothing(t *testing.T) {
	w := newWorld(t)
	room := w.room("Nobody's")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	p := w.poller(poller.Options{Owns: func(string, string) bool { return false }})
	w.post(room, 1, "unread")
	calls := w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Empty(t, w.sink.Accepted()[sub.ID])
	assert.Equal(t, calls, w.calls(w.alice.Token), "no HipChat call for feeds it does not own")
}

// TestReloadReadsTheStoredCursorsAgain: after Reload, a tick polls from the cursors in the store
// (another replica advanced them), not from those it remembered.
func TestReloadReadsTheStoredCursorsAgain(t *testing.T) {
	w := newWorld(t)
	room := w.room("Moved")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	owned := false
	p := w.poller(poller.Options{Owns: func(string, string) bool { return owned }})
	require.NoError(t, p.Tick(w.ctx)) // loads the subscription, owns nothing
	other := w.poller(poller.Options{})
	first := w.post(room, 1, "read by the other replica")
	require.NoError(t, other.Tick(w.ctx))
	w.deliver()
	require.Equal(t, first, w.sink.Accepted()[sub.ID])
	owned = true
	p.Reload()
	second := w.post(room, 1, "read here")
	calls := w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Equal(t, append(first, second...), w.sink.Accepted()[sub.ID])
	assert.Equal(t, calls+1, w.calls(w.alice.Token), "one read, from the stored cursor")
}
