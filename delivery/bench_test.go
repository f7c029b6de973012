package delivery_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// BenchmarkDeliver drains 100 subscriptions × 20 queued deliveries to a loopback sink answering 204,
// 16 attempts in flight: signing, POST, and the bbolt write of each attempt.
func BenchmarkDeliver(b *testing.B) {
	clk := newClock()
	store := openStore(b, clk)
	sk := newSink(b, nil)
	deliverer := newDeliverer(b, store, clk, delivery.Options{})
	var subs []state.Subscription
	for s := 0; s < 100; s++ {
		subs = append(subs, addSubscription(b, store, testConn, triggers.KindMessage, "1", sk.URL(), nil))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, sub := range subs {
			ids := make([]string, 20)
			for e := range ids {
				ids[e] = fmt.Sprintf("b%d-s%s-e%d", i, sub.ID, e)
			}
			queue(b, store, sub, ids...)
		}
		b.StartTimer()
		n, err := deliverer.DeliverDue(context.Background())
		if err != nil || n != 2000 {
			b.Fatalf("delivered %d, err %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*2000)/b.Elapsed().Seconds(), "deliveries/s")
}
