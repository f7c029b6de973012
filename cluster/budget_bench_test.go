package cluster

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

// BenchmarkSharedBudgetTake is the cost of one call's Take from the shared budget (blocks of 10 on
// one embedded etcd member with fsync on, as production runs), beside, in the same run, the
// yardsticks: the one-process limiter's Acquire (what a call costs without replicas) and one plain
// etcd read (what asking etcd for every call would cost). The shared limit is out of reach, so every
// Take succeeds and the figure is the bookkeeping alone: a tenth of a block (a read, a transaction
// that etcd fsyncs, now and then a lease) per call.
func BenchmarkSharedBudgetTake(b *testing.B) {
	server := etcdtest.StartDurable(b)
	client := server.Client(b)
	b.Run("shared", func(b *testing.B) {
		budget, err := NewSharedBudget(client, "/bench", "replica-a", BudgetOptions{Limit: 1 << 30, Window: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		defer budget.Close()
		for b.Loop() {
			if _, err := budget.Take(context.Background(), "conn1", "foreground"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(budget.Reserved())/float64(b.N), "blocks/call")
	})
	b.Run("local_limiter", func(b *testing.B) {
		// Its clock moves 0.7 s a call, so the log holds a window's calls as it does in use (a log
		// of b.N calls would measure its scan, not a call).
		at := time.Now()
		limiter := connector.NewLimiter(connector.LimiterOptions{Now: func() time.Time { at = at.Add(700 * time.Millisecond); return at }})
		for b.Loop() {
			if _, ok := limiter.Acquire("conn1", connector.Foreground); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("etcd_read_per_call", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Get(context.Background(), "/bench/x", clientv3.WithPrefix()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
