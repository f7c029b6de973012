package poller_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// benchWorld makes rooms rooms with subsPerRoom message subscriptions each, all of alice.
func benchWorld(b *testing.B, rooms, subsPerRoom int) (*world, []string) {
	w := newWorld(b)
	var ids []string
	for r := 0; r < rooms; r++ {
		room := w.room(fmt.Sprintf("Room %d", r))
		ids = append(ids, room)
		for s := 0; s < subsPerRoom; s++ {
			w.subscribe(w.conn, triggers.KindMessage, room)
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
