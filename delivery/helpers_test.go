package delivery_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// clock is a settable clock shared by the store and the deliverer. It starts at the wall clock so
// that standardwebhooks' timestamp tolerance (5 minutes) holds while a test advances it by seconds.
type clock = manualclock.Clock

func newClock() *clock { return manualclock.New(time.Now().UTC().Truncate(time.Second)) }

func openStore(t testing.TB, clk *clock) *bolt.Store { return testkit.OpenStore(t, clk.Now) }

// addFIFOSubscription stores a FIFO subscription, for the tests of in-order delivery.
func addFIFOSubscription(t testing.TB, store *bolt.Store, conn connector.Connection, kind triggers.Kind, room, callback string) state.Subscription {
	t.Helper()
	return testkit.AddOrderedSubscription(t, store, conn, kind, room, callback, nil, state.OrderingFIFO)
}

var (
	addSubscription = testkit.AddSubscription
	newSink         = testkit.NewSink
	queue           = testkit.Queue
)

// newDeliverer returns a deliverer on the test clock, allowed to reach the loopback sink, with
// jitter off.
func newDeliverer(t testing.TB, store delivery.Store, clk *clock, opts delivery.Options) *delivery.Deliverer {
	t.Helper()
	opts.Store = store
	opts.Now = clk.Now
	opts.AllowPrivateCallbacks = true
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration { return d }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := delivery.New(opts)
	require.NoError(t, err)
	return d
}

// endpointOf is the endpoint key of the sink's callback URL.
func endpointOf(sk *testkit.Sink) string { return webhook.EndpointOf(sk.URL()) }
