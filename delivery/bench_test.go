package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// benchSubscriptions × benchEventsPerSub deliveries per op.
const (
	benchSubscriptions = 100
	benchEventsPerSub  = 50
	benchConcurrency   = 64
)

// benchStore is what the delivery benchmark needs of a backend.
type benchStore interface {
	delivery.Store
	testkit.SubscriptionStore
}

// BenchmarkDeliverVsPlainClient drains 5,000 queued deliveries (100 subscriptions × 50) with the
// deliverer's own Run loop to a loopback sink answering 204, 64 attempts in flight: signing, POST,
// and the recording of each attempt (group-committed); an op ends when the outbox is empty. In the
// same op, a plain Go client POSTs the same number of signed bodies to the same sink with the same
// concurrency and transport: the yardstick. It runs on each backend: bbolt (a file in a temp dir,
// fsync on) and etcd (one embedded member in this process, fsync on, its data in a temp dir). It
// reports deliveries/s, plain-POSTs/s, their ratio and, for bbolt, fsyncs/s (two per commit) and
// attempts per commit.
func BenchmarkDeliverVsPlainClient(b *testing.B) {
	b.Run("bbolt", func(b *testing.B) {
		clk := newClock()
		benchDeliver(b, openStore(b, clk), clk)
	})
	b.Run("etcd", func(b *testing.B) {
		clk := newClock()
		store, err := etcd.Open(context.Background(), etcd.Options{
			Client: etcdtest.StartDurable(b).Client(b), Key: testkit.StoreKey(), Now: clk.Now,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = store.Close() })
		benchDeliver(b, store, clk)
	})
}

func benchDeliver(b *testing.B, store benchStore, clk *clock) {
	var answered atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		if r.Header.Get("X-HipChat-Connector-Subscription") != "plain" {
			answered.Add(1)
		}
	}))
	b.Cleanup(sink.Close)
	var subs []state.Subscription
	for s := 0; s < benchSubscriptions; s++ {
		subs = append(subs, addSubscription(b, store, testConn, triggers.KindMessage, "1", sink.URL+"/hook", nil))
	}
	client := webhook.NewCallbackClient(0, true)
	d := newDeliverer(b, store, clk, delivery.Options{Client: client, Concurrency: benchConcurrency, PerEndpoint: benchConcurrency})
	plain := webhook.NewCallbackClient(0, true)
	perOp := benchSubscriptions * benchEventsPerSub
	payload := []byte(`{"id":"8b1f2c1e-0000-4000-8000-000000000000","date":"2026-12-01T09:00:00.000000+00:00","type":"message","message":"deploy done","from":{"id":2,"mention_name":"ann","name":"Ann Lee"},"mentions":[],"room_id":"1"}`)
	counter, counted := store.(interface{ Commits() uint64 })

	var deliverTime, plainTime time.Duration
	var commits uint64
	for i := 0; i < b.N; i++ {
		// Each subscription's events are queued as the poller commits a feed: together, a
		// millisecond after the previous subscription's, with the same body the plain client sends.
		for _, sub := range subs {
			events := make([]state.Event, benchEventsPerSub)
			for e := range events {
				events[e] = state.Event{ID: fmt.Sprintf("b%d-%s-%d", i, sub.ID, e), Type: "message.posted", Payload: payload}
			}
			if err := store.CommitFeed([]state.CursorAdvance{{SubscriptionID: sub.ID, Events: events}}); err != nil {
				b.Fatal(err)
			}
			clk.Advance(time.Millisecond)
		}
		var before uint64
		if counted {
			before = counter.Commits()
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- d.Run(ctx) }()
		for answered.Load() < int64((i+1)*perOp) {
			time.Sleep(200 * time.Microsecond)
		}
		for { // the last attempts are being recorded
			st, err := store.Stats()
			if err != nil {
				b.Fatal(err)
			}
			if st.Pending == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		deliverTime += time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if counted {
			commits += counter.Commits() - before
		}

		start = time.Now()
		plainPost(b, plain, sink.URL+"/hook", subs[0].Secret, payload, perOp, benchConcurrency)
		plainTime += time.Since(start)
	}
	deliveries := float64(b.N * perOp)
	rate, yardstick := deliveries/deliverTime.Seconds(), deliveries/plainTime.Seconds()
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(yardstick, "plain-POSTs/s")
	b.ReportMetric(rate/yardstick, "ratio")
	if counted {
		b.ReportMetric(float64(2*commits)/deliverTime.Seconds(), "fsyncs/s")
		b.ReportMetric(deliveries/float64(commits), "attempts/commit")
	}
}

// plainPost POSTs n signed bodies to url from concurrency goroutines: what a plain Go client does
// for the same work, without a store.
func plainPost(b *testing.B, client *http.Client, url, secret string, payload []byte, n, concurrency int) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, err := webhook.NewRequest(context.Background(), url, []string{secret},
					webhook.Message{ID: fmt.Sprintf("plain-%d", i), Type: "message.posted", SubscriptionID: "plain", Payload: payload},
					time.Now(), "")
				if err != nil {
					b.Error(err)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
