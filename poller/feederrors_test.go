package poller_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestAFeedThatKeepsFailingIsLoggedOnceWithItsSubscriptions: a room deleted under a subscription
// answers 404 to every read. The poller tries again each tick, as it should, but an operator needs
// the failure once, with the subscriptions it stops, not a warning every tick (every minute in
// production, forever) that names only the room.
func TestAFeedThatKeepsFailingIsLoggedOnceWithItsSubscriptions(t *testing.T) {
	w := newWorld(t)
	room := w.room("Doomed")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	p := w.poller(poller.Options{})
	require.NoError(t, p.Tick(w.ctx))
	require.NoError(t, w.sim.DeleteRoom(w.ctx, w.alice.Token, room))

	for range 5 {
		w.clock.Advance(time.Minute)
		assert.Error(t, p.Tick(w.ctx), "each tick tries again and reports it")
	}

	var failures []string
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(line, "reading a feed failed") {
			failures = append(failures, line)
		}
	}
	require.NotEmpty(t, failures, "the failure is logged")
	assert.Len(t, failures, 1, "once, not every tick:\n%s", strings.Join(failures, "\n"))
	assert.Contains(t, failures[0], sub.ID, "naming the subscriptions it stops")
}
