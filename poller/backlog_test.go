package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// setStatus changes a subscription's status as the API does, and tells the poller.
func (w *world) setStatus(p *poller.Poller, id string, status state.Status) {
	w.t.Helper()
	_, err := w.store.UpdateStatus(id, status, "")
	require.NoError(w.t, err)
	p.Changed(id)
}

// pending is how many deliveries of subscription id wait in the outbox.
func (w *world) pending(id string) int {
	w.t.Helper()
	n, err := w.store.PendingCount(id)
	require.NoError(w.t, err)
	return n
}

// tickCalls ticks p once and returns the HipChat calls the tick made.
func (w *world) tickCalls(p *poller.Poller) int {
	w.t.Helper()
	before := w.calls(w.alice.Token)
	require.NoError(w.t, p.Tick(w.ctx))
	return w.calls(w.alice.Token) - before
}

// TestABoundedOutboxHoldsASubscriptionWhileItsFeedStaysCurrent: a subscription whose deliveries do
// not go out (paused here; a dead receiver does the same) gathers pending deliveries up to the
// bound and no further: its share of a read is cut there and its cursor stops. Meanwhile the feed's
// other subscription gets every message at once, with one HipChat read per tick. Once the
// deliveries drain, the held subscription catches up from its cursor with a read of its own, and
// then shares the feed's one read again; each got every message once, in order.
func TestABoundedOutboxHoldsASubscriptionWhileItsFeedStaysCurrent(t *testing.T) {
	w := newWorld(t)
	room := w.room("Bounded")
	held := w.subscribe(w.conn, triggers.KindMessage, room)
	current := w.subscribe(w.conn, triggers.KindMessage, room)
	reg := prometheus.NewRegistry()
	p := w.poller(poller.Options{MaxPending: 5, Registerer: reg})
	w.setStatus(p, held.ID, state.StatusPaused)

	posted := w.post(room, 3, "one")
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	posted = append(posted, w.post(room, 4, "two")...)
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Equal(t, posted, w.sink.Accepted()[current.ID])
	assert.Equal(t, 5, w.pending(held.ID), "cut at the bound: 2 of the second read's 4")
	atBound := w.subscription(held.ID).Cursor

	posted = append(posted, w.post(room, 3, "three")...)
	assert.Equal(t, 1, w.tickCalls(p), "one read for the feed; none for the held subscription")
	w.deliver()
	assert.Equal(t, posted, w.sink.Accepted()[current.ID], "the other subscription stays current")
	assert.Equal(t, 5, w.pending(held.ID), "nothing more is stored for the held one")
	assert.Equal(t, atBound, w.subscription(held.ID).Cursor, "its cursor waits")
	assert.Equal(t, 1.0, heldMetric(t, reg))
	assert.Contains(t, w.logs.String(), "outbox is at its bound")

	w.setStatus(p, held.ID, state.StatusActive)
	w.deliver()
	assert.Zero(t, w.pending(held.ID))
	assert.Equal(t, 2, w.tickCalls(p), "the feed's read, and the held one's catch-up read from its cursor")
	w.deliver()
	assert.Equal(t, posted, w.sink.Accepted()[held.ID], "every message once, in order")
	assert.Equal(t, 0.0, heldMetric(t, reg))

	require.NoError(t, p.Tick(w.ctx)) // the catch-up read that finds nothing more waiting
	posted = append(posted, w.post(room, 2, "four")...)
	assert.Equal(t, 1, w.tickCalls(p), "caught up: one read for both again")
	w.deliver()
	assert.Equal(t, posted, w.sink.Accepted()[held.ID])
	assert.Equal(t, posted, w.sink.Accepted()[current.ID])
	assert.Equal(t, w.subscription(held.ID).Cursor, w.subscription(current.ID).Cursor)
}

// TestARestartedPollerFindsALaggingSubscriptionWithoutDelayingTheOthers: a poller started anew
// does not know which subscription lags. Its first read of the feed starts at the lagging one's
// cursor, and returns less than reaches the other's; the other gets a read of its own at once
// (nothing it waits for is late), and the lagging one catches up over the next ticks on its own.
func TestARestartedPollerFindsALaggingSubscriptionWithoutDelayingTheOthers(t *testing.T) {
	w := newWorld(t)
	room := w.room("Restarted")
	lagging := w.subscribe(w.conn, triggers.KindMessage, room)
	current := w.subscribe(w.conn, triggers.KindMessage, room)
	first := w.poller(poller.Options{MaxPending: 3, ReadLimit: 3})
	w.setStatus(first, lagging.ID, state.StatusPaused)
	posted := w.post(room, 3, "before")
	require.NoError(t, first.Tick(w.ctx))
	w.deliver()
	for range 2 {
		posted = append(posted, w.post(room, 3, "during")...)
		require.NoError(t, first.Tick(w.ctx))
		w.deliver()
	}
	require.Equal(t, posted, w.sink.Accepted()[current.ID])
	require.Equal(t, 3, w.pending(lagging.ID), "held at the bound, 6 messages behind")

	_, err := w.store.UpdateStatus(lagging.ID, state.StatusActive, "")
	require.NoError(t, err)
	w.deliver()
	restarted := w.poller(poller.Options{ReadLimit: 3})
	posted = append(posted, w.post(room, 2, "after")...)
	require.NoError(t, restarted.Tick(w.ctx))
	w.deliver()
	assert.Equal(t, posted, w.sink.Accepted()[current.ID], "the current subscription is not held up by the lagging one")
	for range 4 {
		posted = append(posted, w.post(room, 1, "more")...)
		require.NoError(t, restarted.Tick(w.ctx))
		w.deliver()
		assert.Equal(t, posted, w.sink.Accepted()[current.ID])
	}
	assert.Equal(t, posted, w.sink.Accepted()[lagging.ID], "caught up: every message once, in order")
}

// TestARoomListSubscriptionIsHeldAtTheBoundToo: the room list's subscriptions take the same bound.
func TestARoomListSubscriptionIsHeldAtTheBoundToo(t *testing.T) {
	w := newWorld(t)
	held := w.subscribe(w.conn, triggers.KindRoom, "")
	current := w.subscribe(w.conn, triggers.KindRoom, "")
	p := w.poller(poller.Options{MaxPending: 2})
	w.setStatus(p, held.ID, state.StatusPaused)
	var rooms []string
	for _, names := range [][]string{{"R1", "R2"}, {"R3"}} {
		for _, name := range names {
			rooms = append(rooms, w.room(name))
		}
		require.NoError(t, p.Tick(w.ctx))
		w.deliver()
	}
	assert.Equal(t, rooms, w.sink.Accepted()[current.ID])
	assert.Equal(t, 2, w.pending(held.ID))

	w.setStatus(p, held.ID, state.StatusActive)
	w.deliver()
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Equal(t, rooms, w.sink.Accepted()[held.ID])
}

// heldMetric is hipchat_connector_subscriptions_held.
func heldMetric(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "hipchat_connector_subscriptions_held" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no hipchat_connector_subscriptions_held")
	return 0
}

// TestRunPrunesSoonAfterStartThenHourly: Run prunes the delivery log half a minute after it starts
// (a process restarted more often than hourly still prunes), then every hour; the timer is
// injected, so the test fires it instead of waiting.
func TestRunPrunesSoonAfterStartThenHourly(t *testing.T) {
	w := newWorld(t)
	room := w.room("Pruned")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	w.post(room, 2, "old")
	waits := make(chan time.Duration, 4)
	fire := make(chan time.Time)
	p := w.poller(poller.Options{Schedule: "@every 1h", After: func(d time.Duration) <-chan time.Time {
		waits <- d
		return fire
	}})
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	w.clock.Advance(state.DefaultRetentionAge + time.Hour)

	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	first := <-waits
	assert.LessOrEqual(t, first, time.Minute, "the first prune comes within a minute of start")
	assert.Equal(t, poller.DefaultPruneFirst, first)
	log, err := w.store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	assert.Len(t, log, 2, "not pruned before the timer fires")

	fire <- time.Now()
	assert.Equal(t, time.Hour, <-waits, "then hourly")
	log, err = w.store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	assert.Empty(t, log, "the first prune ran")
	cancel()
	require.NoError(t, <-done)
}
