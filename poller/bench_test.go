package poller_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// benchWorld makes rooms rooms with subsPerRoom message subscriptions each, all of alice.
func benchWorld(b *testing.B, rooms, subsPerRoom int) (*world, []string) {
	w := newWorld(b)
	var ids []string
	for r := 0; r < rooms; r++ {
		room := w.room(fmt.Sprintf("Room %d", r))
		ids = append(ids, room)
		for s := 0; s < subsPerRoom; s++ {
			w.subscribe(w.conn, state.KindMessage, room)
		}
	}
	return w, ids
}

// BenchmarkTickNothingNew is one tick over 100 rooms × 10 subscriptions (1,000) of one token when
// nothing is new: 100 HipChat calls (one per room) and no write.
func BenchmarkTickNothingNew(b *testing.B) {
	w, _ := benchWorld(b, 100, 10)
	p := w.poller(poller.Options{})
	require.NoError(b, p.Tick(context.Background()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "subscriptions/s")
}

// BenchmarkTickTenNewPerRoom is one tick over 100 rooms × 10 subscriptions when each room has 10 new
// messages: 100 calls, 100 commits queueing 10,000 deliveries.
func BenchmarkTickTenNewPerRoom(b *testing.B) {
	w, rooms := benchWorld(b, 100, 10)
	p := w.poller(poller.Options{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, room := range rooms {
			w.post(room, 10, "news")
		}
		b.StartTimer()
		if err := p.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "events-queued/s")
}

// BenchmarkDeliver drains 100 subscriptions × 20 queued deliveries to a loopback sink answering 204,
// 16 attempts in flight: signing, POST, and the bbolt write of each attempt.
func BenchmarkDeliver(b *testing.B) {
	w := newWorld(b)
	var subs []state.Subscription
	for s := 0; s < 100; s++ {
		subs = append(subs, addSubscription(w.t, w.store, w.conn, state.KindMessage, "1", w.sink.url(), nil))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, sub := range subs {
			ids := make([]string, 20)
			for e := range ids {
				ids[e] = fmt.Sprintf("b%d-s%s-e%d", i, sub.ID, e)
			}
			queue(w.t, w.store, sub, ids...)
		}
		b.StartTimer()
		n, err := w.deliverer.DeliverDue(context.Background())
		if err != nil || n != 2000 {
			b.Fatalf("delivered %d, err %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*2000)/b.Elapsed().Seconds(), "deliveries/s")
}
