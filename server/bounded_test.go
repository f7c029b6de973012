package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// footprint is the process's goroutines and live heap after a collection.
type footprint struct {
	goroutines int
	heap       uint64
}

func measure() footprint {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return footprint{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc}
}

// settle waits (briefly, on wall time: goroutines end on their own schedule) until the goroutines
// are back within margin of base, and returns the footprint then.
func settle(base footprint, margin int) footprint {
	now := measure()
	for i := 0; i < 100 && now.goroutines > base.goroutines+margin; i++ {
		time.Sleep(20 * time.Millisecond)
		now = measure()
	}
	return now
}

// A connection with 500 subscriptions, polled and delivered for a few ticks: goroutines come back
// to where they were, and the heap grows by far less than the load would cost if kept.
func TestBoundedFiveHundredSubscriptionsOfOneConnection(t *testing.T) {
	w := newFaultWorld(t, 5*time.Second)
	ann := w.person("Ann", "ann")
	conn := connector.NewConnection(ann.Token, w.hipchatURL())
	var rooms []string
	for i := 0; i < 25; i++ {
		rooms = append(rooms, w.room("Many "+strconv.Itoa(i)))
	}
	w.cycle()
	base := measure()
	for i := 0; i < 500; i++ {
		sub := testkit.AddSubscription(t, w.store, conn, triggers.KindMessage, rooms[i%len(rooms)], w.sink.URL(),
			triggers.EncodeMessageCursor(triggers.MessageCursor{})) // the rooms are empty: from their first message
		w.sink.Trust(sub.ID, sub.Secret)
		w.poller.Changed(sub.ID)
	}
	for _, room := range rooms {
		w.post(room, 2, time.Second)
	}
	for minute := 0; minute < 4; minute++ {
		w.cycle()
	}
	got := len(w.sink.requests())
	w.sink.srv.CloseClientConnections() // the keep-alive pool to the sink is not load
	after := settle(base, 20)
	t.Logf("500 subscriptions of one connection: %d deliveries; goroutines %d → %d, heap %d → %d KiB",
		got, base.goroutines, after.goroutines, base.heap>>10, after.heap>>10)
	assert.Equal(t, 500*2, got, "each subscription got its room's 2 messages")
	assert.LessOrEqual(t, after.goroutines, base.goroutines+20, "no goroutine per subscription is left behind")
	assert.Less(t, after.heap, base.heap+64<<20, "the heap does not keep the load")
}

// A callback that never answers and one that answers slowly: deliveries time out or wait their
// turn, never more in flight than the deliverer's bounds, and nothing stays behind afterwards.
func TestBoundedCallbacksThatHangOrCrawl(t *testing.T) {
	for name, answer := range map[string]time.Duration{"never answers": time.Hour, "answers slowly": 30 * time.Millisecond} {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			var inFlight, most atomic.Int64
			receiver := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				select {
				case <-time.After(answer):
				case <-release:
				case <-r.Context().Done():
				}
				rw.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(receiver.Close)

			clock := manualclock.New(time.Now())
			store := testkit.OpenStore(t, clock.Now)
			conn := connector.NewConnection("token-of-a-slow-receiver", "http://hipchat.invalid")
			base := measure()
			d, err := delivery.New(delivery.Options{Store: store, Now: clock.Now, AllowPrivateCallbacks: true, Timeout: 200 * time.Millisecond,
				Jitter: func(d time.Duration) time.Duration { return d }})
			require.NoError(t, err)
			for i := 0; i < 20; i++ {
				sub := testkit.AddSubscription(t, store, conn, triggers.KindMessage, strconv.Itoa(i), receiver.URL+"/hook", nil)
				ids := make([]string, 10)
				for j := range ids {
					ids[j] = "event-" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
				}
				testkit.Queue(t, store, sub, ids...)
			}
			for round := 0; round < 3; round++ {
				_, err := d.DeliverDue(context.Background())
				require.NoError(t, err)
				clock.Advance(time.Minute)
			}
			close(release)                    // the receiver's own handlers, blocked on purpose, are not the connector's
			receiver.CloseClientConnections() // nor is the keep-alive pool to the endpoint
			after := settle(base, 20)
			t.Logf("callback that %s: 200 queued, at most %d attempts in flight; goroutines %d → %d, heap %d → %d KiB",
				name, most.Load(), base.goroutines, after.goroutines, base.heap>>10, after.heap>>10)
			assert.LessOrEqual(t, most.Load(), int64(delivery.DefaultPerEndpoint), "in flight to one endpoint stays within its bound")
			assert.LessOrEqual(t, after.goroutines, base.goroutines+20, "attempts do not pile up goroutines")
			assert.Less(t, after.heap, base.heap+32<<20)
		})
	}
}

// 10,000 connections that made one call each and then went idle: after IdleAfter the limiter
// keeps none of them.
func TestBoundedLimiterForgetsIdleConnections(t *testing.T) {
	clock := manualclock.New(time.Now())
	opts := connector.DefaultLimiterOptions()
	opts.Now = clock.Now
	limiter := connector.NewLimiter(opts)
	base := measure()
	for i := 0; i < 10000; i++ {
		ok, _ := limiter.TryAcquire("conn_"+strconv.Itoa(i), connector.Foreground)
		require.True(t, ok)
	}
	busy := limiter.Connections()
	clock.Advance(opts.IdleAfter + opts.Window)
	ok, _ := limiter.TryAcquire("conn_active", connector.Foreground)
	require.True(t, ok)
	after := measure()
	t.Logf("10000 idle connections: limiter state %d → %d; heap %d → %d KiB", busy, limiter.Connections(), base.heap>>10, after.heap>>10)
	assert.Equal(t, 10000, busy)
	assert.Equal(t, 1, limiter.Connections(), "only the connection still calling is kept")
	assert.Less(t, after.heap, base.heap+1<<20, "the idle state's memory is released")
}
