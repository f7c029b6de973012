package poller_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// TestTickSoonTicksOutOfSchedule: Run on an hourly schedule reads a feed at once after TickSoon
// (the replicas changed: the feeds this one gained are read now).
func TestTickSoonTicksOutOfSchedule(t *testing.T) {
	w := newWorld(t)
	room := w.room("Gained")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	p := w.poller(poller.Options{Schedule: "@every 1h"})
	ctx, stop := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	posted := w.post(room, 2, "read at once")
	p.TickSoon()
	require.Eventually(t, func() bool {
		w.deliver()
		return len(w.sink.Accepted()[sub.ID]) == len(posted)
	}, 10*time.Second, 20*time.Millisecond, "an hourly schedule, and yet read now")
	stop()
	require.NoError(t, <-done)
}

// TestDoorbellsAcrossReplicas: a feed's doorbell secret is its own, known to the replica that
// registered it, which publishes only its digest (DoorbellChanges) for the others to check against;
// RingForwarded rings only a feed this replica knows and owns.
func TestDoorbellsAcrossReplicas(t *testing.T) {
	w := newWorld(t)
	room := w.room("Pushed")
	w.subscribe(w.conn, triggers.KindMessage, room)
	owned := true
	var mu sync.Mutex
	owns := func(string, string) bool { mu.Lock(); defer mu.Unlock(); return owned }
	reg := prometheus.NewRegistry()
	owner := w.poller(poller.Options{Owns: owns, Registerer: reg})
	owner.EnablePush(poller.PushOptions{URL: "http://127.0.0.1:9/", Webhooks: w.client})
	other := w.poller(poller.Options{Owns: func(string, string) bool { return false }})
	other.EnablePush(poller.PushOptions{URL: "http://127.0.0.1:9/", Webhooks: w.client})
	require.NoError(t, owner.Tick(w.ctx)) // registers the feed's doorbells
	hooks, err := w.sim.ListWebhooks(w.ctx, w.alice.Token, room)
	require.NoError(t, err)
	require.NotEmpty(t, hooks)
	parts := strings.Split(strings.TrimPrefix(hooks[0].URL, "http://127.0.0.1:9/hipchat/rooms/"), "/")
	require.Len(t, parts, 2, hooks[0].URL)
	id, secret := parts[0], parts[1]

	assert.Equal(t, map[string]string{id: poller.SecretDigest(secret)}, owner.DoorbellChanges(), "the owner publishes the digest")
	assert.Empty(t, owner.DoorbellChanges(), "once")
	assert.Empty(t, other.DoorbellChanges(), "a replica publishes only the secrets it set")
	assert.NotContains(t, poller.SecretDigest(secret), secret)
	wrong := secret[:len(secret)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(secret, "0")]
	assert.False(t, owner.Ring(id, wrong, nil), "a wrong secret")
	assert.False(t, other.Ring(id, secret, nil), "not its feed: its own Ring refuses it")
	assert.False(t, other.RingForwarded(id), "not its feed: nothing rung")
	assert.True(t, owner.RingForwarded(id))
	assert.True(t, owner.Ring(id, secret, nil))
	assert.Equal(t, 1.0, pushFeeds(t, reg), "hipchat_connector_push_feeds counts the feed its owner polls")
	mu.Lock()
	owned = false
	mu.Unlock()
	assert.False(t, owner.RingForwarded(id), "no longer owned: the new owner rings it")
	assert.Zero(t, pushFeeds(t, reg), "a feed that moved away is the new owner's to count")
	assert.False(t, w.poller(poller.Options{}).Ring(id, secret, nil), "push off: no doorbell is valid")
}

// pushFeeds is hipchat_connector_push_feeds summed over its states.
func pushFeeds(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() == "hipchat_connector_push_feeds" {
			for _, m := range f.GetMetric() {
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}
