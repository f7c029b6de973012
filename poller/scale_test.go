package poller_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// blockingSource blocks every read of one connection until released.
type blockingSource struct {
	triggers.Source
	conn    string
	release chan struct{}
	mu      sync.Mutex
	reads   map[string]int // connection id → reads
}

func (s *blockingSource) LatestHistory(ctx context.Context, conn connector.Connection, room, notBefore string, max int) ([]connector.Message, error) {
	s.mu.Lock()
	s.reads[conn.ID]++
	s.mu.Unlock()
	if conn.ID == s.conn {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Source.LatestHistory(ctx, conn, room, notBefore, max)
}

func (s *blockingSource) readsOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[id]
}

// TestASlowConnectionNeverMakesAnotherSkipATick: one token's reads hang (a slow HipChat, a spent
// budget); while it is still being polled from the first tick, the second tick polls every other
// token in full and leaves that one to finish (deferred: busy). Nothing of the others waits for it.
func TestASlowConnectionNeverMakesAnotherSkipATick(t *testing.T) {
	w := newWorld(t)
	bob := w.person("Bob Example", "bob")
	bobConn := connector.NewConnection(bob.Token, w.hipchat)
	aliceRooms := []string{w.room("A1"), w.room("A2")}
	bobRoom := w.room("B1")
	var aliceSubs []state.Subscription
	for _, room := range aliceRooms {
		aliceSubs = append(aliceSubs, w.subscribe(w.conn, triggers.KindMessage, room))
	}
	w.subscribe(bobConn, triggers.KindMessage, bobRoom)
	src := &blockingSource{Source: w.client, conn: bobConn.ID, release: make(chan struct{}), reads: map[string]int{}}
	w.source = src
	reg := prometheus.NewRegistry()
	p := w.poller(poller.Options{Registerer: reg})
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()

	first := p.Start(ctx)
	require.Eventually(t, func() bool { return src.readsOf(w.conn.ID) == 2 && src.readsOf(bobConn.ID) == 1 }, 10*time.Second, time.Millisecond)
	// Alice's part of the first tick ends (its reads returned and were committed); Bob's hangs.
	require.Eventually(t, func() bool { return !p.Polling(w.conn.ID) }, 10*time.Second, time.Millisecond)
	require.True(t, p.Polling(bobConn.ID))
	for tick := 2; tick <= 4; tick++ {
		msg := w.post(aliceRooms[tick%2], 1, fmt.Sprintf("tick %d", tick))
		done := p.Start(ctx)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("tick %d waited for the slow connection", tick)
		}
		assert.Equal(t, 2*tick, src.readsOf(w.conn.ID), "tick %d read every feed of the other token", tick)
		w.deliver()
		var got []string
		for _, sub := range aliceSubs {
			got = append(got, w.sink.Accepted()[sub.ID]...)
		}
		assert.Contains(t, got, msg[0], "tick %d's message arrived within its tick", tick)
	}
	assert.Equal(t, 1, src.readsOf(bobConn.ID), "the slow connection was left to finish, not started again")
	assert.Equal(t, 3.0, testutil.ToFloat64(deferredMetric(t, reg, "busy")))
	close(src.release)
	<-first
}

// deferredMetric is hipchat_connector_poll_feeds_deferred_total{reason}.
func deferredMetric(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "hipchat_connector_poll_feeds_deferred_total" {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "reason" && l.GetValue() == reason {
						return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
					}
				}
			}
		}
	}
	t.Fatalf("no deferred metric with reason %s", reason)
	return nil
}

// TestOneTokenWithManyRoomsAtHipChatsOwnLimits: one personal token watching 15, 20, 30 or 50 rooms
// at the emulator's default limits (100 calls per 5 minutes per token), polled every minute on the
// injected clock for 16 minutes while an action is made every minute. HipChat never refuses a
// call, every action is served, the plan says how many rooms a tick reads and the lag that makes,
// and a message posted in every room arrives within that lag.
func TestOneTokenWithManyRoomsAtHipChatsOwnLimits(t *testing.T) {
	for _, tc := range []struct {
		rooms       int
		lag         time.Duration
		overBudget  bool
		readPerTick int
	}{
		{15, time.Minute, false, 15},
		{20, 2 * time.Minute, true, 15},
		{30, 2 * time.Minute, true, 15},
		{50, 4 * time.Minute, true, 15},
	} {
		t.Run(strconv.Itoa(tc.rooms)+" rooms", func(t *testing.T) {
			clk := newClock()
			emuOpts := hipchatsim.DefaultOptions()
			emuOpts.Now = clk.Now
			emu, err := hipchatsim.New(emuOpts)
			require.NoError(t, err)
			ts := httptest.NewServer(emu)
			t.Cleanup(ts.Close)
			sim := simclient.New(ts.URL)
			ctx := context.Background()
			ann, err := sim.NewPerson(ctx, emu.AdminToken(), "Ann Lee", "ann")
			require.NoError(t, err)
			conn := connector.NewConnection(ann.Token, ts.URL)
			ops, err := sim.NewPerson(ctx, emu.AdminToken(), "Ops Bot", "ops")
			require.NoError(t, err)
			// The connector's own client, limiter and clock, as serve builds them.
			client := connector.NewClient(connector.ClientOptions{
				Now:     clk.Now,
				Limiter: connector.NewLimiter(connector.LimiterOptions{Now: clk.Now}),
			})
			store := openStore(t, clk)
			sk := newSink(t, nil)
			var rooms []string
			for r := 0; r < tc.rooms; r++ {
				id, err := sim.CreateRoom(ctx, emu.AdminToken(), fmt.Sprintf("Room %d", r), "public")
				require.NoError(t, err)
				room := strconv.Itoa(id)
				rooms = append(rooms, room)
				// Subscribed with a cursor taken by another token: Ann's budget is the subject (and
				// each token has its own 100 calls per 5 minutes).
				cursor, err := triggers.Baseline(ctx, client, connector.NewConnection(ops.Token, ts.URL), triggers.KindMessage, room)
				require.NoError(t, err)
				// Its room resolved, as the subscribe handler stores it (a subscription stored
				// before rooms were resolved costs one more call on its first read).
				resolved := triggers.ResolvedRoom{ID: id, Name: fmt.Sprintf("Room %d", r)}
				sub := testkit.AddResolvedSubscription(t, store, conn, triggers.KindMessage, room, resolved, sk.URL(), cursor)
				sk.TrustSubscriptions(sub)
			}
			deliverer, err := delivery.New(delivery.Options{Store: store, Now: clk.Now, AllowPrivateCallbacks: true, Logger: quietLogger()})
			require.NoError(t, err)
			p, err := poller.New(poller.Options{Store: store, Source: client, Budgets: client, Now: clk.Now, Logger: quietLogger()})
			require.NoError(t, err)

			actionsServed := 0
			minute := func() {
				t.Helper()
				require.NoError(t, p.Tick(ctx), "HipChat refused nothing")
				_, err := client.GetUser(ctx, conn, "@ann") // an action of the same token
				require.NoError(t, err, "an action is still served")
				actionsServed++
				_, err = deliverer.DeliverDue(ctx)
				require.NoError(t, err)
				clk.Advance(time.Minute)
			}
			for range 6 { // past HipChat's first 5-minute window
				minute()
			}
			plan, ok := p.Plan(conn.ID)
			require.True(t, ok)
			assert.Equal(t, tc.rooms, plan.Feeds)
			assert.Equal(t, tc.readPerTick, plan.ReadsPerTick)
			assert.Equal(t, tc.lag, plan.ExpectedLag, "the lag the plan shows")
			assert.Equal(t, tc.overBudget, plan.OverBudget)
			assert.Equal(t, 100, plan.HipChatLimit)

			// A message in every room at once: each arrives within the plan's lag (plus the tick
			// that reads it).
			for _, room := range rooms {
				_, err := sim.PostMessage(ctx, emu.AdminToken(), room, "news")
				require.NoError(t, err)
			}
			ticks := 0
			for ; ticks < 10; ticks++ {
				if len(sk.Accepted()) == tc.rooms {
					break
				}
				minute()
			}
			assert.Len(t, sk.Accepted(), tc.rooms, "every room's message arrived")
			assert.LessOrEqual(t, time.Duration(ticks)*time.Minute, tc.lag, "within the lag shown")
			for range 16 - 6 - ticks {
				minute()
			}
			calls, err := sim.CallsOf(ctx, ann.Token)
			require.NoError(t, err)
			assert.LessOrEqual(t, calls.MaxInAny300s, 100, "HipChat's own window never overflows")
			t.Logf("%d rooms: %d reads a tick, lag %s, all %d messages in %d ticks, %d HipChat calls (at most %d in any 5 minutes), %d actions served",
				tc.rooms, plan.ReadsPerTick, plan.ExpectedLag, tc.rooms, ticks, calls.Total, calls.MaxInAny300s, actionsServed)
		})
	}
}

// gatedSource holds every history read until released and counts the reads under way; its rooms
// have no messages.
type gatedSource struct {
	triggers.Source
	release chan struct{}
	active  atomic.Int32
	read    sync.Map // connection ids read
}

func (s *gatedSource) LatestHistory(ctx context.Context, conn connector.Connection, _, _ string, _ int) ([]connector.Message, error) {
	s.active.Add(1)
	s.read.Store(conn.ID, true)
	select {
	case <-s.release:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestATickOfManyConnectionsRunsAtMostParallelOfThemAtOnce: a tick over 300 connections with
// Parallel 4 reads 4 at a time, and reads every one, and holds no goroutine for the connections that wait their turn
// (before, each of them parked one, so a tick of 5,000 tokens held 5,000 goroutines).
func TestATickOfManyConnectionsRunsAtMostParallelOfThemAtOnce(t *testing.T) {
	w := newWorld(t)
	const connections, parallel = 300, 4
	for i := range connections {
		conn := connector.NewConnection(fmt.Sprintf("token-%d", i), w.hipchat)
		testkit.AddResolvedSubscription(t, w.store, conn, triggers.KindMessage, "1", triggers.ResolvedRoom{ID: 1, Name: "Ops"}, w.sink.URL(), nil)
	}
	src := &gatedSource{Source: w.client, release: make(chan struct{})}
	w.source = src
	p := w.poller(poller.Options{Parallel: parallel})
	before := runtime.NumGoroutine()
	done := p.Start(w.ctx)
	require.Eventually(t, func() bool { return src.active.Load() == parallel }, 10*time.Second, time.Millisecond)
	assert.Less(t, runtime.NumGoroutine()-before, connections/2, "goroutines while the first %d connections read", parallel)
	assert.Equal(t, int32(parallel), src.active.Load(), "no fifth connection reads before one of the first four is done")
	close(src.release)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the tick did not finish")
	}
	read := 0
	src.read.Range(func(any, any) bool { read++; return true })
	assert.Equal(t, connections, read, "every connection was read")
}

// TestAConnectionOutOfBudgetHoldsNoSlotForTheRestOfTheTick: with one slot, a token whose
// background budget is spent (its own actions spent it, or a crash's assumed calls) and another
// token are polled in one tick. The spent one's read would have to wait past the tick's end, so
// it gives up at once and the other token is read within the tick; it never sits in the slot
// until the tick's time runs out while the other waits its turn and is deferred.
func TestAConnectionOutOfBudgetHoldsNoSlotForTheRestOfTheTick(t *testing.T) {
	w := newWorld(t)
	bob := w.person("Bob Example", "bob")
	bobConn := connector.NewConnection(bob.Token, w.hipchat)
	aliceRoom, bobRoom := w.room("A1"), w.room("B1")
	w.subscribe(w.conn, triggers.KindMessage, aliceRoom)
	bobSub := w.subscribe(bobConn, triggers.KindMessage, bobRoom)
	limiter := connector.NewLimiter(connector.LimiterOptions{Now: w.clock.Now})
	for range 75 {
		ok, _ := limiter.TryAcquire(w.conn.ID, connector.Background)
		require.True(t, ok)
	}
	w.source = connector.NewClient(connector.ClientOptions{Limiter: limiter, Now: w.clock.Now})
	p := w.poller(poller.Options{Parallel: 1})
	id, err := w.sim.PostMessage(w.ctx, bob.Token, bobRoom, "for bob's subscription")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(w.ctx, 2*time.Second)
	defer cancel()
	_ = p.Tick(ctx) // alice's read is refused: her budget is spent
	assert.NoError(t, ctx.Err(), "the tick ended before its time ran out")
	w.deliver()
	assert.Equal(t, []string{id}, w.sink.Accepted()[bobSub.ID], "bob's token was read within the tick")
}
