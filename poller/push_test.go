package poller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestPushKeepsEightyRoomsCurrentOnOneTokensBudget: one personal token watching 80 rooms at the
// emulator's default limits (100 calls per 5 minutes), ticks every minute on the injected clock.
// Without push its plan reads 15 rooms a tick; with push every room's doorbells get registered
// within that budget, each room's next message arrives on its doorbell before the next tick (five
// rooms a minute: every room once in 16 minutes), and once the feeds are trusted an idle feed costs
// at most 0.25 HipChat calls a minute.
func TestPushKeepsEightyRoomsCurrentOnOneTokensBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("an hour of ticks on the injected clock")
	}
	const rooms = 80
	clk := newClock()
	emuOpts := hipchatsim.DefaultOptions()
	emuOpts.Now, emuOpts.FloodLimit = clk.Now, 0
	emu, err := hipchatsim.New(emuOpts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	sim := simclient.New(ts.URL)
	ctx := context.Background()
	person := func(name string) simclient.Person {
		p, err := sim.NewPerson(ctx, emu.AdminToken(), name, strings.ToLower(strings.Fields(name)[0]))
		require.NoError(t, err)
		return p
	}
	ann, ops, poster := person("Ann Lee"), person("Ops Bot"), person("Poster Person")
	conn := connector.NewConnection(ann.Token, ts.URL)
	// Waiting for budget lets the injected clock run, as waiting would in real time; every answer
	// HipChat refuses (429) is counted.
	refused := &refusalCounter{next: http.DefaultTransport}
	client := connector.NewClient(connector.ClientOptions{Now: clk.Now, Limiter: connector.NewLimiter(connector.LimiterOptions{Now: clk.Now}),
		Sleep:      func(_ context.Context, d time.Duration) error { clk.Advance(d); return nil },
		HTTPClient: &http.Client{Transport: refused, Timeout: 15 * time.Second}})
	store := openStore(t, clk)
	sk := newSink(t, nil)
	var ids []string
	for r := 0; r < rooms; r++ {
		if r%40 == 39 {
			clk.Advance(5 * time.Minute) // the admin's and ops' own budgets: 100 calls per 5 minutes
		}
		id, err := sim.CreateRoom(ctx, emu.AdminToken(), fmt.Sprintf("Room %d", r), "public")
		require.NoError(t, err)
		room := strconv.Itoa(id)
		ids = append(ids, room)
		cursor, err := triggers.Baseline(ctx, client, connector.NewConnection(ops.Token, ts.URL), triggers.KindMessage, room)
		require.NoError(t, err)
		sk.TrustSubscriptions(testkit.AddSubscription(t, store, conn, triggers.KindMessage, room, sk.URL(), cursor))
	}
	deliverer, err := delivery.New(delivery.Options{Store: store, Now: clk.Now, AllowPrivateCallbacks: true, Logger: quietLogger()})
	require.NoError(t, err)
	logs := &testkit.SyncBuffer{}
	p, err := poller.New(poller.Options{Store: store, Source: client, Budgets: client, Now: clk.Now, OnCommit: deliverer.Nudge,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	doorbells := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // hipchat rooms {feed} {secret}
		payload, _ := io.ReadAll(r.Body)
		if len(parts) == 4 && p.Ring(parts[2], parts[3], payload) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(doorbells.Close)
	p.EnablePush(poller.PushOptions{URL: doorbells.URL, Webhooks: client})
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = deliverer.Run(dctx) }()

	minute := func() {
		t.Helper()
		require.NoError(t, p.Tick(ctx), "HipChat refused nothing")
		clk.Advance(time.Minute)
	}
	pushState := func(room string) string {
		state, _, _ := p.PushStatus(conn.ID, room)
		return state
	}
	registered := func() int {
		n := 0
		for _, room := range ids {
			if s := pushState(room); s == poller.PushOn || s == poller.PushTrusted {
				n++
			}
		}
		return n
	}
	ticks := 0
	for ; registered() < rooms; ticks++ {
		require.Less(t, ticks, 90, "registering 80 rooms' doorbells within the token's budget")
		minute()
	}
	plan, _ := p.Plan(conn.ID)
	t.Logf("all %d rooms' doorbells registered in %d ticks; without push a tick reads %d of them (expected lag %s)",
		rooms, ticks, plan.ReadsPerTick, plan.ExpectedLag)

	for range 6 { // registering spent the token's window; let it start over
		minute()
	}
	delivered := func() int {
		n := 0
		for _, got := range sk.Accepted() {
			n += len(got)
		}
		return n
	}
	trusted := func() int {
		n := 0
		for _, room := range ids {
			if pushState(room) == poller.PushTrusted {
				n++
			}
		}
		return n
	}
	// Doorbells prove themselves: a message in every room, ten rooms a minute, until every feed is
	// trusted (a doorbell whose read had to wait for the budget is read by a tick, and proves
	// nothing: that room gets another message next round).
	posted := 0
	for round := 0; trusted() < rooms; round++ {
		require.Less(t, round, 5, "every feed trusted")
		for batch := 0; batch < rooms/10; batch++ {
			for _, room := range ids[batch*10 : batch*10+10] {
				if pushState(room) == poller.PushTrusted {
					continue
				}
				_, err := sim.PostMessage(ctx, poster.Token, room, "proof")
				require.NoError(t, err)
				posted++
			}
			// Give the doorbells their moment (HipChat calls them in the background) before the tick.
			for wait := time.Now().Add(3 * time.Second); delivered() < posted && time.Now().Before(wait); {
				time.Sleep(10 * time.Millisecond)
			}
			minute()
		}
	}
	require.Eventually(t, func() bool { return delivered() == posted }, 20*time.Second, 10*time.Millisecond)
	for range 6 { // the proofs spent the window; let it start over
		minute()
	}

	// Current: each room's next message comes on its doorbell, five rooms a minute (each room gets
	// one in 16 minutes), before the next tick.
	for batch := 0; batch < rooms/5; batch++ {
		for _, room := range ids[batch*5 : batch*5+5] {
			_, err := sim.PostMessage(ctx, poster.Token, room, "news")
			require.NoError(t, err)
			posted++
		}
		if !assert.Eventually(t, func() bool { return delivered() == posted }, 20*time.Second, 10*time.Millisecond,
			"batch %d arrived on doorbells, without a tick", batch) {
			calls, _ := sim.WebhookCalls(ctx)
			for _, c := range calls[max(0, len(calls)-8):] {
				t.Logf("webhook call %+v", c)
			}
			t.Fatalf("poller log tail: %s", logs.String()[max(0, len(logs.String())-3000):])
		}
		minute()
	}
	assert.Equal(t, rooms, trusted())

	// Idle: an hour of ticks with nothing new.
	before, err := sim.CallsOf(ctx, ann.Token)
	require.NoError(t, err)
	for range 60 {
		minute()
	}
	after, err := sim.CallsOf(ctx, ann.Token)
	require.NoError(t, err)
	perFeedMinute := float64(after.Total-before.Total) / rooms / 60
	t.Logf("push, %d trusted rooms idle for 60 minutes: %d HipChat calls, %.3f per feed per minute; %d calls of the token refused by HipChat in the whole test",
		rooms, after.Total-before.Total, perFeedMinute, refused.n.Load())
	assert.LessOrEqual(t, perFeedMinute, 0.25)
	assert.Zero(t, refused.n.Load(), "HipChat refused no call: its own (fixed, 5-minute) window was never overrun")
}

// refusalCounter counts the HipChat answers that are 429s.
type refusalCounter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (r *refusalCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		r.n.Add(1)
	}
	return resp, err
}
