package delivery_test

import (
	"fmt"
	"testing"
	"time"
)

// The depths of BenchmarkDeliverQueueDepth, and what each of its segments delivers.
const (
	shallowDepth = 5_000
	deepDepth    = 80_000
	segment      = 5_000 // deliveries per timed segment, at either depth
	depthRounds  = 4     // segments at each depth per op
)

// BenchmarkDeliverQueueDepth asks whether a delivery costs more when more wait behind it. Two
// stores of one backend, each with 100 best-effort subscriptions to a loopback sink: in the
// shallow one each segment queues 5,000 deliveries and drains them with the deliverer's own Run
// loop (as BenchmarkDeliverVsPlainClient does); the deep one holds 80,000 queued, and each segment
// runs its deliverer until 5,000 more were answered, then queues as many as were recorded, so the
// next finds 80,000 again. Segments alternate, shallow and deep, four of each per op, and after each
// a plain Go client POSTs 5,000 signed bodies to the same sink with the same concurrency: the
// yardstick beside it, so that other work on the machine weighs on both depths alike. It reports
// deliveries/s at each depth, the plain client's rate beside each, their ratios, and depth-ratio:
// deliveries/s with 80,000 queued ÷ with 5,000. On bbolt (files in a temp dir, fsync on) and on etcd
// (two prefixes of one embedded member, fsync on).
func BenchmarkDeliverQueueDepth(b *testing.B) {
	b.Run("bbolt", func(b *testing.B) {
		clk := newClock()
		benchDepths(b, openStore(b, clk), openStore(b, clk), clk)
	})
	b.Run("etcd", func(b *testing.B) {
		clk := newClock()
		member := startDurableEtcd(b)
		benchDepths(b, openEtcdOn(b, member, "/shallow/", clk), openEtcdOn(b, member, "/deep/", clk), clk)
	})
}

func benchDepths(b *testing.B, shallowStore, deepStore benchStore, clk *clock) {
	shallow := newDeliveryBench(b, shallowStore, clk, benchSubscriptions)
	deep := newDeliveryBench(b, deepStore, clk, benchSubscriptions)
	shallow.warmUp()
	deep.warmUp()
	deep.queue("standing", deepDepth/benchSubscriptions)
	var shallowTime, deepTime, plainShallow, plainDeep time.Duration
	for i := 0; i < b.N; i++ {
		for r := 0; r < depthRounds; r++ {
			shallow.queue(fmt.Sprintf("s%d-%d", i, r), shallowDepth/benchSubscriptions)
			shallowTime += shallow.drain(segment)
			plainShallow += shallow.plain(segment)
			deepTime += deep.deliverSome(segment)
			deep.topUp(fmt.Sprintf("d%d-%d", i, r), deepDepth)
			plainDeep += deep.plain(segment)
		}
	}
	n := float64(b.N * depthRounds * segment)
	shallowRate, deepRate := n/shallowTime.Seconds(), n/deepTime.Seconds()
	plainShallowRate, plainDeepRate := n/plainShallow.Seconds(), n/plainDeep.Seconds()
	b.ReportMetric(shallowRate, "deliveries/s@5k")
	b.ReportMetric(deepRate, "deliveries/s@80k")
	b.ReportMetric(plainShallowRate, "plain-POSTs/s@5k")
	b.ReportMetric(plainDeepRate, "plain-POSTs/s@80k")
	b.ReportMetric(shallowRate/plainShallowRate, "ratio@5k")
	b.ReportMetric(deepRate/plainDeepRate, "ratio@80k")
	b.ReportMetric(deepRate/shallowRate, "depth-ratio")
}
