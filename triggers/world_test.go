package triggers_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// clock is the emulator's clock in these tests: it moves only when told, so tests can make many
// messages share one timestamp.
// world is the emulator over real HTTP, one person with a personal token, and the connector's side:
// a client (with a budget large enough not to matter here) and the polling triggers.
type world struct {
	t       *testing.T
	ctx     context.Context
	clock   *manualclock.Clock
	sim     *simclient.Client
	admin   string
	alice   simclient.Person
	conn    connector.Connection
	client  *connector.Client
	polling *triggers.Polling
}

func newWorld(t *testing.T, clientOpts ...func(*connector.ClientOptions)) *world {
	t.Helper()
	clk := manualclock.New(time.Date(2018, 1, 10, 9, 0, 0, 0, time.UTC))
	emu, err := hipchatsim.New(hipchatsim.Options{Now: clk.Now})
	require.NoError(t, err)
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	w := &world{t: t, ctx: context.Background(), clock: clk, sim: simclient.New(ts.URL), admin: emu.AdminToken()}
	w.alice, err = w.sim.NewPerson(w.ctx, w.admin, "Alice Example", "alice")
	require.NoError(t, err)
	w.conn = connector.NewConnection(w.alice.Token, ts.URL)
	opts := connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})}
	for _, edit := range clientOpts {
		edit(&opts)
	}
	w.client = connector.NewClient(opts)
	codec, err := triggers.NewStateCodec(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	w.polling = &triggers.Polling{Source: w.client, Users: w.client, Codec: codec, Interval: 60 * time.Second, MaxItems: 100}
	return w
}

func (w *world) room(name string) string {
	w.t.Helper()
	id, err := w.sim.CreateRoom(w.ctx, w.alice.Token, name, "public")
	require.NoError(w.t, err)
	return strconv.Itoa(id)
}

// post posts n messages to room, advancing the clock by step before each; it returns their ids.
func (w *world) post(room string, n int, step time.Duration, prefix string) []string {
	w.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		w.clock.Advance(step)
		id, err := w.sim.PostMessage(w.ctx, w.alice.Token, room, prefix+" "+strconv.Itoa(i))
		require.NoError(w.t, err)
		ids[i] = id
	}
	return ids
}

// hipchatCalls is how many calls the connection made, as the emulator counted them.
func (w *world) hipchatCalls() int {
	w.t.Helper()
	c, err := w.sim.CallsOf(w.ctx, w.alice.Token)
	require.NoError(w.t, err)
	return c.Total
}
