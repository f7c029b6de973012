package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"fmt"
	"testing"
)

// BenchmarkCommitFeed commits one feed read shared by 10 subscriptions with
// 100 new events each: one transaction, 1,000 deliveries.
func BenchmarkCommitFeed(b *testing.B) {
	d := newTestDB(b)
	const subs, perSub = 10, 100
	for i := range subs {
		d.subscribe(fmt.Sprint("s", i))
	}
	payload := []byte(`{"id":"00000000-0000-0000-0000-000000000000","message":"hello, room","from":{"id":1,"name":"A User"}}`)
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		advances := make([]state.CursorAdvance, subs)
		for i := range advances {
			evs := make([]state.Event, perSub)
			for j := range evs {
				evs[j] = state.Event{ID: fmt.Sprintf("r%d-e%d", round, j), Type: "message.created", Payload: payload}
			}
			advances[i] = state.CursorAdvance{SubscriptionID: fmt.Sprint("s", i), Cursor: []byte(fmt.Sprint(round)), Events: evs}
		}
		if err := d.CommitFeed(advances); err != nil {
			b.Fatal(err)
		}
		round++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs*perSub), "ns/event")
}

// BenchmarkDueDeliveries finds the due heads of 100 subscriptions, each with
// 10 pending deliveries behind a delivered history of 0 or 2,000: the cost
// must not depend on the history.
func BenchmarkDueDeliveries(b *testing.B) {
	for _, history := range []int{0, 2000} {
		b.Run(fmt.Sprint("history=", history), func(b *testing.B) {
			d := newTestDB(b)
			const subs = 100
			for i := range subs {
				id := fmt.Sprint("s", i)
				d.subscribe(id)
				if history > 0 {
					if err := d.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events("old", history)}}); err != nil {
						b.Fatal(err)
					}
					markDelivered(b, d, id, history)
				}
				if err := d.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events("new", 10)}}); err != nil {
					b.Fatal(err)
				}
			}
			now := d.clock.Now()
			b.ReportAllocs()
			for b.Loop() {
				due, err := d.DueDeliveries(now, 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				if len(due) != subs {
					b.Fatalf("got %d due, want %d", len(due), subs)
				}
			}
		})
	}
}

// BenchmarkPickDuePassingOver lists 100 best-effort subscriptions with 800 due deliveries each,
// taking nothing: each passed over before anything of it is read (what the deliverer answers while
// a subscription or its endpoint is full), at its first delivery, or every delivery passed over one
// by one (what it answered before PickDue). It reports the cost per subscription passed over.
func BenchmarkPickDuePassingOver(b *testing.B) {
	const subs, perSub = 100, 800
	d := newTestDB(b)
	for i := range subs {
		id := fmt.Sprint("s", i)
		d.subscribeWith(id, state.OrderingBestEffort)
		for first := 0; first < perSub; first += 100 {
			if err := d.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events(fmt.Sprint("e", first, "-"), 100)}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	now := d.clock.Now()
	for _, tc := range []struct {
		name   string
		picker state.Picker
	}{
		{"before-reading", refuseAll{}},
		{"at-first-delivery", state.PickFunc(func(string, uint64) state.Pick { return state.SkipSubscription })},
		{"one-by-one", state.PickFunc(func(string, uint64) state.Pick { return state.Skip })},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				due, err := d.PickDue(now, 0, tc.picker)
				if err != nil || len(due) != 0 {
					b.Fatal(err, len(due))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/subscription")
		})
	}
}

// refuseAll passes over every subscription.
type refuseAll struct{}

func (refuseAll) PickSubscription(string) bool { return false }

func (refuseAll) PickDelivery(string, uint64) state.Pick { return state.SkipSubscription }
