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

	clientv3 "go.etcd.io/etcd/client/v3"

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
		benchDeliver(b, openDurableEtcd(b, clk), clk)
	})
}

// openDurableEtcd is an etcd store on one embedded member with fsync on, its data in a temp dir.
func openDurableEtcd(b *testing.B, clk *clock) *etcd.Store {
	return openEtcdOn(b, startDurableEtcd(b), "", clk)
}

// startDurableEtcd starts one embedded etcd member with fsync on, its data in a temp dir, and
// returns a client of it.
func startDurableEtcd(b *testing.B) *clientv3.Client { return etcdtest.StartDurable(b).Client(b) }

// openEtcdOn opens an etcd store under prefix ("" for the default) through client.
func openEtcdOn(b *testing.B, client *clientv3.Client, prefix string, clk *clock) *etcd.Store {
	return openEtcdWith(b, etcd.Options{Client: client, Prefix: prefix}, clk)
}

// openEtcdWith opens an etcd store with opts, the test key and clk, closed when b ends.
func openEtcdWith(b *testing.B, opts etcd.Options, clk *clock) *etcd.Store {
	opts.Key, opts.Now = testkit.StoreKey(), clk.Now
	store, err := etcd.Open(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	return store
}

func benchDeliver(b *testing.B, store benchStore, clk *clock) {
	bench := newDeliveryBench(b, store, clk, benchSubscriptions)
	perOp := benchSubscriptions * benchEventsPerSub
	counter, counted := store.(interface{ Commits() uint64 })

	var deliverTime, plainTime, deliverCPU, plainCPU time.Duration
	var commits uint64
	for i := 0; i < b.N; i++ {
		bench.queue(fmt.Sprintf("b%d", i), benchEventsPerSub)
		var before uint64
		if counted {
			before = counter.Commits()
		}
		cpu := testkit.ProcessCPU()
		deliverTime += bench.drain(perOp)
		deliverCPU += testkit.ProcessCPU() - cpu
		if counted {
			commits += counter.Commits() - before
		}
		cpu = testkit.ProcessCPU()
		plainTime += bench.plain(perOp)
		plainCPU += testkit.ProcessCPU() - cpu
	}
	deliveries := float64(b.N * perOp)
	rate, yardstick := deliveries/deliverTime.Seconds(), deliveries/plainTime.Seconds()
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(yardstick, "plain-POSTs/s")
	b.ReportMetric(rate/yardstick, "ratio")
	// The process's CPU per delivery on each side (the sink, and for etcd the member, run in this
	// process too): it moves less with the machine's other work than the rates do.
	b.ReportMetric(float64(deliverCPU.Microseconds())/deliveries, "cpu-µs/delivery")
	b.ReportMetric(float64(plainCPU.Microseconds())/deliveries, "plain-cpu-µs/POST")
	if deliverCPU > 0 {
		b.ReportMetric(plainCPU.Seconds()/deliverCPU.Seconds(), "cpu-ratio")
	}
	if counted {
		b.ReportMetric(float64(2*commits)/deliverTime.Seconds(), "fsyncs/s")
		b.ReportMetric(deliveries/float64(commits), "attempts/commit")
	}
}

// deliveryBench is a store with subscriptions to a loopback sink answering 204, a deliverer with
// benchConcurrency attempts in flight, and a plain client with the same concurrency and transport.
type deliveryBench struct {
	b        *testing.B
	store    benchStore
	clk      *clock
	sinkURL  string
	answered atomic.Int64 // the deliverer's POSTs the sink answered, since the start
	subs     []state.Subscription
	d        *delivery.Deliverer
	plainC   *http.Client
	payload  []byte
}

func newDeliveryBench(b *testing.B, store benchStore, clk *clock, subscriptions int) *deliveryBench {
	bench := &deliveryBench{b: b, store: store, clk: clk, plainC: webhook.NewCallbackClient(0, true),
		payload: []byte(`{"id":"8b1f2c1e-0000-4000-8000-000000000000","date":"2026-12-01T09:00:00.000000+00:00","type":"message","message":"deploy done","from":{"id":2,"mention_name":"ann","name":"Ann Lee"},"mentions":[],"room_id":"1"}`)}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		if r.Header.Get("X-HipChat-Connector-Subscription") != "plain" {
			bench.answered.Add(1)
		}
	}))
	b.Cleanup(sink.Close)
	bench.sinkURL = sink.URL + "/hook"
	for s := 0; s < subscriptions; s++ {
		bench.subs = append(bench.subs, addSubscription(b, store, testConn, triggers.KindMessage, "1", bench.sinkURL, nil))
	}
	client := webhook.NewCallbackClient(0, true)
	bench.d = newDeliverer(b, store, clk, delivery.Options{Client: client, Concurrency: benchConcurrency, PerEndpoint: benchConcurrency})
	return bench
}

// queue queues perSub events (ids prefixed with round) for each subscription as the poller commits
// feeds: together, a millisecond after the previous subscription's, in commits of at most 50 (a
// HipChat page), with the plain client's body.
func (bench *deliveryBench) queue(round string, perSub int) {
	for _, sub := range bench.subs {
		bench.queueFor(sub, round, perSub)
	}
}

// queueFor queues n events (ids prefixed with round) for sub, as queue does.
func (bench *deliveryBench) queueFor(sub state.Subscription, round string, n int) {
	for first := 0; first < n; first += 50 {
		events := make([]state.Event, min(50, n-first))
		for e := range events {
			events[e] = state.Event{ID: fmt.Sprintf("%s-%s-%d", round, sub.ID, first+e), Type: "message.posted", Payload: bench.payload}
		}
		if err := bench.store.CommitFeed([]state.CursorAdvance{{SubscriptionID: sub.ID, Events: events}}); err != nil {
			bench.b.Fatal(err)
		}
	}
	bench.clk.Advance(time.Millisecond)
}

// drain runs the deliverer's own Run loop until n more deliveries were answered and recorded (the
// outbox is empty), and returns how long it took.
func (bench *deliveryBench) drain(n int) time.Duration {
	return bench.run(n, true)
}

// deliverSome runs the deliverer's own Run loop until n more deliveries were answered, and returns
// how long it took; then it stops the loop (attempts it cuts short stay queued).
func (bench *deliveryBench) deliverSome(n int) time.Duration {
	return bench.run(n, false)
}

// topUp queues, spread over the subscriptions, as many deliveries as the outbox lacks of target.
func (bench *deliveryBench) topUp(round string, target int) {
	st, err := bench.store.Stats()
	if err != nil {
		bench.b.Fatal(err)
	}
	missing := target - st.Pending
	for i, sub := range bench.subs {
		n := missing / len(bench.subs)
		if i < missing%len(bench.subs) {
			n++
		}
		bench.queueFor(sub, round, n)
	}
}

// run runs the deliverer's own Run loop until n more deliveries were answered and, when empty, the
// outbox is empty; it returns how long that took, and stops the loop.
func (bench *deliveryBench) run(n int, empty bool) time.Duration {
	target := bench.answered.Load() + int64(n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- bench.d.Run(ctx) }()
	for bench.answered.Load() < target {
		time.Sleep(200 * time.Microsecond)
	}
	for empty { // the last attempts are being recorded
		st, err := bench.store.Stats()
		if err != nil {
			bench.b.Fatal(err)
		}
		if st.Pending == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		bench.b.Fatal(err)
	}
	return took
}

// warmUp drains a few deliveries per subscription and makes as many plain POSTs, untimed, so that
// neither side of the first timed op pays for dialling the sink or the first allocations.
func (bench *deliveryBench) warmUp() {
	bench.queue("warm-up", 5)
	bench.drain(5 * len(bench.subs))
	bench.plain(5 * len(bench.subs))
}

// plain POSTs n signed bodies with the plain client (the yardstick) and returns how long it took.
func (bench *deliveryBench) plain(n int) time.Duration {
	start := time.Now()
	plainPost(bench.b, bench.plainC, bench.sinkURL, bench.subs[0].Secret, bench.payload, n, benchConcurrency)
	return time.Since(start)
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
