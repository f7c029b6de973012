package etcd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// eightEach is a picker that takes 8 deliveries of each subscription (the deliverer's bound of a
// best-effort subscription) and passes over the rest.
type eightEach struct{ taken map[string]int }

func (p *eightEach) PickSubscription(string) bool { return true }

func (p *eightEach) PickDelivery(sub string, _ uint64) state.Pick {
	if p.taken[sub] == 8 {
		return state.SkipSubscription
	}
	p.taken[sub]++
	return state.Take
}

// BenchmarkPickDue lists 16, 64 and 128 deliveries, 8 of each subscription, of 100 best-effort
// subscriptions with 50 due each, on one embedded member (fsync on, nothing else writing): what one
// listing of the deliverer costs, from the first request to the records decoded.
func BenchmarkPickDue(b *testing.B) {
	s, err := etcd.Open(context.Background(), etcd.Options{Client: etcdtest.StartDurable(b).Client(b), Key: testKey(7)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	payload := []byte(`{"id":"8b1f2c1e-0000-4000-8000-000000000000","date":"2026-12-01T09:00:00.000000+00:00","type":"message","message":"deploy done","from":{"id":2,"mention_name":"ann","name":"Ann Lee"},"mentions":[],"room_id":1}`)
	for i := range 100 {
		id := fmt.Sprint("s", i)
		_, err := s.CreateSubscription(state.Subscription{ID: id, ConnectionID: "c", Kind: "message", RoomID: "r",
			CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort})
		if err != nil {
			b.Fatal(err)
		}
		events := make([]state.Event, 50)
		for e := range events {
			events[e] = state.Event{ID: fmt.Sprint(e), Type: "message.posted", Payload: payload}
		}
		if err := s.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events}}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	for _, limit := range []int{16, 64, 128} {
		b.Run(fmt.Sprint("deliveries=", limit), func(b *testing.B) {
			for b.Loop() {
				due, err := s.PickDue(now, limit, &eightEach{taken: map[string]int{}})
				if err != nil || len(due) != limit {
					b.Fatal(err, len(due))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*limit), "µs/delivery")
		})
	}
}

// BenchmarkPickDueAfterDeliveries is BenchmarkPickDue's listing of 64 after each of the 100
// subscriptions already had 500 deliveries delivered (50,000 ready/ entries deleted): with etcd's
// history kept, then after the store's compaction (two turns of it). Each delivered entry stays
// in etcd's index until a compaction, and a listing walks those of each subscription it reads.
func BenchmarkPickDueAfterDeliveries(b *testing.B) {
	s, err := etcd.Open(context.Background(), etcd.Options{Client: etcdtest.Start(b).Client(b), Key: testKey(7), CompactEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	now := time.Now()
	for i := range 100 {
		id := fmt.Sprint("s", i)
		if _, err := s.CreateSubscription(state.Subscription{ID: id, ConnectionID: "c", Kind: "message", RoomID: "r",
			CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort}); err != nil {
			b.Fatal(err)
		}
		for round := range 11 {
			events := make([]state.Event, 50)
			for e := range events {
				events[e] = state.Event{ID: fmt.Sprint(round, "-", e), Type: "message.posted", Payload: []byte(`{"id":"x"}`)}
			}
			if err := s.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events}}); err != nil {
				b.Fatal(err)
			}
			if round == 10 {
				break // the last 50 stay due
			}
			testkit.DeliverPending(b, s, id, now)
		}
	}
	list := func(b *testing.B) {
		for b.Loop() {
			due, err := s.PickDue(now.Add(time.Minute), 64, &eightEach{taken: map[string]int{}})
			if err != nil || len(due) != 64 {
				b.Fatal(err, len(due))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/listing")
	}
	b.Run("history kept", list)
	etcd.CompactTurn(s, etcd.CompactTurn(s, 0))
	b.Run("compacted", list)
}
