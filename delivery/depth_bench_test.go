package delivery_test

import (
	"fmt"
	"testing"
	"time"
)

// The two depths of BenchmarkDeliverQueueDepth, in deliveries per subscription (× benchSubscriptions).
const (
	shallowPerSub = 50  // 5,000 queued
	deepPerSub    = 800 // 80,000 queued
)

// BenchmarkDeliverQueueDepth asks whether a delivery costs more when more wait behind it. Each op
// queues 5,000 deliveries (100 subscriptions × 50) and drains them with the deliverer's own Run loop
// as BenchmarkDeliverVsPlainClient does, then queues 80,000 (100 × 800) and drains those; beside
// each, a plain Go client POSTs as many signed bodies to the same sink with the same concurrency:
// the yardstick of that depth. It reports deliveries/s at each depth, the plain client's rate, the
// ratio of each to it, and depth-ratio: deliveries/s with 80,000 queued ÷ with 5,000. On bbolt (a
// file in a temp dir, fsync on) and on etcd (one embedded member, fsync on).
func BenchmarkDeliverQueueDepth(b *testing.B) {
	b.Run("bbolt", func(b *testing.B) {
		clk := newClock()
		benchDepths(b, openStore(b, clk), clk)
	})
	b.Run("etcd", func(b *testing.B) {
		clk := newClock()
		benchDepths(b, openDurableEtcd(b, clk), clk)
	})
}

func benchDepths(b *testing.B, store benchStore, clk *clock) {
	bench := newDeliveryBench(b, store, clk, benchSubscriptions)
	bench.warmUp()
	var shallow, deep, plainShallow, plainDeep time.Duration
	for i := 0; i < b.N; i++ {
		bench.queue(fmt.Sprintf("s%d", i), shallowPerSub)
		shallow += bench.drain(benchSubscriptions * shallowPerSub)
		plainShallow += bench.plain(benchSubscriptions * shallowPerSub)
		bench.queue(fmt.Sprintf("d%d", i), deepPerSub)
		deep += bench.drain(benchSubscriptions * deepPerSub)
		plainDeep += bench.plain(benchSubscriptions * deepPerSub)
	}
	rate := func(perSub int, took time.Duration) float64 {
		return float64(b.N*benchSubscriptions*perSub) / took.Seconds()
	}
	shallowRate, deepRate := rate(shallowPerSub, shallow), rate(deepPerSub, deep)
	plainShallowRate, plainDeepRate := rate(shallowPerSub, plainShallow), rate(deepPerSub, plainDeep)
	b.ReportMetric(shallowRate, "deliveries/s@5k")
	b.ReportMetric(deepRate, "deliveries/s@80k")
	b.ReportMetric(plainShallowRate, "plain-POSTs/s@5k")
	b.ReportMetric(plainDeepRate, "plain-POSTs/s@80k")
	b.ReportMetric(shallowRate/plainShallowRate, "ratio@5k")
	b.ReportMetric(deepRate/plainDeepRate, "ratio@80k")
	b.ReportMetric(deepRate/shallowRate, "depth-ratio")
}
