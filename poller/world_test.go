package poller_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// world is the emulator over real HTTP with one person (alice), the connector's client, a real bbolt
// store, a real sink, the poller and the deliverer, all on one injected clock.
type world struct {
	t         testing.TB
	ctx       context.Context
	clock     *clock
	sim       *simclient.Client
	hipchat   string // the emulator's URL
	admin     string
	alice     simclient.Person
	conn      connector.Connection
	client    *connector.Client
	store     *bolt.Store
	sink      *sink
	deliverer *delivery.Deliverer
	logs      *testkit.SyncBuffer
	source    triggers.Source // what the poller reads through; tests may wrap client
}

func newWorld(t testing.TB) *world {
	t.Helper()
	clk := newClock()
	emu, err := hipchatsim.New(hipchatsim.Options{Now: clk.Now})
	require.NoError(t, err)
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	w := &world{t: t, ctx: context.Background(), clock: clk, sim: simclient.New(ts.URL), hipchat: ts.URL, admin: emu.AdminToken(), logs: &testkit.SyncBuffer{}}
	w.alice = w.person("Alice Example", "alice")
	w.conn = connector.NewConnection(w.alice.Token, ts.URL)
	// A budget too large to matter: the limiter's waiting is the connector package's business.
	w.client = connector.NewClient(connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})})
	w.source = w.client
	w.store = openStore(t, clk)
	w.sink = newSink(t, nil)
	w.deliverer, err = delivery.New(delivery.Options{
		Store: w.store, Now: clk.Now, AllowPrivateCallbacks: true, Logger: w.logger(),
		Jitter: func(d time.Duration) time.Duration { return d },
	})
	require.NoError(t, err)
	return w
}

func (w *world) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (w *world) person(name, mention string) simclient.Person {
	w.t.Helper()
	p, err := w.sim.NewPerson(w.ctx, w.admin, name, mention)
	require.NoError(w.t, err)
	return p
}

// poller returns a poller over w.source with opts.
func (w *world) poller(opts poller.Options) *poller.Poller {
	w.t.Helper()
	opts.Store = w.store
	opts.Source = w.source
	opts.Now = w.clock.Now
	opts.OnCommit = w.deliverer.Nudge
	if opts.Logger == nil {
		opts.Logger = w.logger()
	}
	p, err := poller.New(opts)
	require.NoError(w.t, err)
	return p
}

func (w *world) room(name string) string {
	w.t.Helper()
	id, err := w.sim.CreateRoom(w.ctx, w.alice.Token, name, "public")
	require.NoError(w.t, err)
	return strconv.Itoa(id)
}

// post posts n messages to room and returns their ids.
func (w *world) post(room string, n int, prefix string) []string {
	w.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := w.sim.PostMessage(w.ctx, w.alice.Token, room, prefix+" "+strconv.Itoa(i))
		require.NoError(w.t, err)
		ids[i] = id
	}
	return ids
}

// subscribe creates a subscription of conn as the subscribe handler does: its room resolved,
// baselined at now. It is FIFO, so that what these tests read at the sink is the order in which the
// poller queued.
func (w *world) subscribe(conn connector.Connection, kind triggers.Kind, room string) state.Subscription {
	w.t.Helper()
	var resolved triggers.ResolvedRoom
	if kind.Room() {
		var err error
		resolved, err = triggers.ResolveRoom(w.ctx, w.client, conn, room)
		require.NoError(w.t, err)
	}
	cursor, err := triggers.Baseline(w.ctx, w.client, conn, kind, room)
	require.NoError(w.t, err)
	secret, err := webhook.NewSecret()
	require.NoError(w.t, err)
	sub, err := w.store.CreateSubscription(state.Subscription{
		ConnectionID: conn.ID, Kind: kind, RoomID: room, Room: resolved, CallbackURL: w.sink.URL(),
		Token: conn.Token(), Secret: secret, HipChatURL: conn.BaseURL, Cursor: cursor, Ordering: state.OrderingFIFO,
	})
	require.NoError(w.t, err)
	w.sink.TrustSubscriptions(sub)
	return sub
}

// calls is how many HipChat calls token made, as the emulator counted them.
func (w *world) calls(token string) int {
	w.t.Helper()
	c, err := w.sim.CallsOf(w.ctx, token)
	require.NoError(w.t, err)
	return c.Total
}

// deliver runs the deliverer until nothing is due.
func (w *world) deliver() {
	w.t.Helper()
	_, err := w.deliverer.DeliverDue(w.ctx)
	require.NoError(w.t, err)
}

func (w *world) subscription(id string) state.Subscription {
	w.t.Helper()
	sub, err := w.store.Subscription(id)
	require.NoError(w.t, err)
	return sub
}
