package poller_test

import (
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
)

// clock is a settable clock shared by the store, the poller and the deliverer. It starts at the
// wall clock so that standardwebhooks' timestamp tolerance (5 minutes) holds while a test advances
// it by seconds.
type clock = manualclock.Clock

func newClock() *clock { return manualclock.New(time.Now().UTC().Truncate(time.Second)) }

func openStore(t testing.TB, clk *clock) *bolt.Store { return testkit.OpenStore(t, clk.Now) }

type sink = testkit.Sink

var (
	addSubscription = testkit.AddSubscription
	newSink         = testkit.NewSink
)
