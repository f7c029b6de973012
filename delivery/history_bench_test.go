package delivery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// historyRounds is how many rounds of benchSubscriptions × benchEventsPerSub deliveries
// BenchmarkDeliverOverHistory makes on one store.
const historyRounds = 10

// BenchmarkDeliverOverHistory is a delivery's cost as etcd's history grows: historyRounds rounds of
// 5,000 deliveries on one etcd store (fsync on), the deliveries/s of the first two rounds beside
// those of the last two, and their ratio. Every delivery deletes a ready/ entry that etcd keeps in
// its index until a compaction, and a listing walks those of the subscriptions it reads; the store
// compacts its history every CompactEvery (here 1 s, the default 30 s), and "kept" is the same run
// with KeepHistory (no compaction at all), the cost the store's compaction takes away.
func BenchmarkDeliverOverHistory(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts etcd.Options
	}{{"compacted", etcd.Options{CompactEvery: time.Second}}, {"kept", etcd.Options{KeepHistory: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				first, last := deliverRounds(b, tc.opts)
				b.ReportMetric(first, "first-deliveries/s")
				b.ReportMetric(last, "last-deliveries/s")
				b.ReportMetric(last/first, "last÷first")
			}
		})
	}
}

// deliverRounds makes historyRounds rounds of deliveries on a fresh etcd store opened with opts
// and returns the deliveries/s of the first two and of the last two.
func deliverRounds(b *testing.B, opts etcd.Options) (first, last float64) {
	clk := newClock()
	opts.Client = startDurableEtcd(b)
	store := openEtcdWith(b, opts, clk)
	bench := newDeliveryBench(b, store, clk, benchSubscriptions)
	perRound := benchSubscriptions * benchEventsPerSub
	var took []time.Duration
	for r := range historyRounds {
		bench.queue(fmt.Sprintf("h%d", r), benchEventsPerSub)
		took = append(took, bench.drain(perRound))
	}
	rate := func(a, b time.Duration) float64 { return float64(2*perRound) / (a + b).Seconds() }
	return rate(took[0], took[1]), rate(took[historyRounds-2], took[historyRounds-1])
}
