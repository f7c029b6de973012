package delivery

import (
	"log/slog"
	"testing"
	"time"
)

// noStore is a Store the listing tests never reach: held reads no store.
type noStore struct{ Store }

func newListingDeliverer(t *testing.T, opts Options) *Deliverer {
	t.Helper()
	opts.Store = noStore{}
	opts.Logger = slog.New(slog.DiscardHandler)
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHeldAsksTheListingGatesAndCountsWhatItLetsThrough: held refuses what the gates refuse, and
// counts each delivery it lets through against its subscription's and endpoint's bounds, so one
// listing holds what would go beyond them.
func TestHeldAsksTheListingGatesAndCountsWhatItLetsThrough(t *testing.T) {
	d := newListingDeliverer(t, Options{PerSubscription: 2, PerEndpoint: 3,
		Owns: func(id string) bool { return id != "theirs" }})
	d.subs["a"] = &subscriptionState{endpoint: "https://a.example"}
	d.subs["b"] = &subscriptionState{endpoint: "https://a.example", inflight: 1}
	d.subs["fifo"] = &subscriptionState{endpoint: "https://b.example", fifo: true}
	d.endpoints["https://a.example"] = &endpointState{limit: unlimited}
	d.inflight[deliveryKey{"a", 9}] = true
	d.recent[deliveryKey{"a", 8}] = 1 // recorded while the listing ran

	skip := d.held(time.Now(), 1)
	for _, step := range []struct {
		sub  string
		seq  uint64
		held bool
	}{
		{"theirs", 1, true}, // another replica's
		{"a", 9, true},      // in flight
		{"a", 8, true},      // recorded since the listing began
		{"a", 1, false},
		{"a", 2, false},
		{"a", 3, true},  // a's bound (2) is reached by what the listing let through
		{"b", 1, false}, // the endpoint's third: a's two and this one
		{"b", 2, true},  // b's bound: one in flight and one let through
		{"fifo", 1, false},
		{"fifo", 2, true}, // FIFO: one at a time
		{"new", 1, false}, // not known yet: perSubscription
		{"new", 2, false},
		{"new", 3, true},
	} {
		if got := skip(step.sub, step.seq); got != step.held {
			t.Errorf("held(%s, %d) = %v, want %v", step.sub, step.seq, got, step.held)
		}
	}
}

// TestHeldPassesOverTheSubscriptionsOfAnOpenCircuit: while an endpoint's circuit holds, the
// listing reads none of its deliveries; once its probe is due, they are listed again.
func TestHeldPassesOverTheSubscriptionsOfAnOpenCircuit(t *testing.T) {
	d := newListingDeliverer(t, Options{})
	now := time.Now()
	d.subs["a"] = &subscriptionState{endpoint: "https://a.example"}
	ep := &endpointState{limit: unlimited}
	ep.state.OpenedAt, ep.state.NextProbeAt = now.Add(-time.Minute), now.Add(time.Second)
	d.endpoints["https://a.example"] = ep
	if !d.held(now, 1)("a", 1) {
		t.Error("listed while the circuit holds")
	}
	if d.held(now.Add(time.Second), 2)("a", 1) {
		t.Error("held once the probe is due")
	}
}
