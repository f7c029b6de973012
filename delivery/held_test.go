package delivery

import (
	"log/slog"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
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
// listing holds what would go beyond them. What it refuses for the delivery alone it skips; what
// it refuses for its subscription or endpoint, it skips with the rest of its subscription.
func TestHeldAsksTheListingGatesAndCountsWhatItLetsThrough(t *testing.T) {
	d := newListingDeliverer(t, Options{PerSubscription: 2, PerEndpoint: 3,
		Owns: func(id string) bool { return id != "theirs" }})
	d.subs["a"] = &subscriptionState{endpoint: "https://a.example"}
	d.subs["b"] = &subscriptionState{endpoint: "https://a.example", inflight: 1}
	d.subs["fifo"] = &subscriptionState{endpoint: "https://b.example", fifo: true}
	d.endpoints["https://a.example"] = &endpointState{limit: unlimited}
	d.inflight[deliveryKey{"a", 9}] = true
	d.recent[deliveryKey{"a", 8}] = 1 // recorded while the listing ran

	pick := d.held(time.Now(), 1).PickDelivery
	const whole = state.SkipSubscription
	for _, step := range []struct {
		sub  string
		seq  uint64
		held bool
		pick state.Pick
	}{
		{"theirs", 1, true, whole}, // another replica's
		{"a", 9, true, state.Skip}, // in flight
		{"a", 8, true, state.Skip}, // recorded since the listing began
		{"a", 1, false, state.Take},
		{"a", 2, false, state.Take},
		{"a", 3, true, whole},       // a's bound (2) is reached by what the listing let through
		{"b", 1, false, state.Take}, // the endpoint's third: a's two and this one
		{"b", 2, true, whole},       // b's bound: one in flight and one let through
		{"fifo", 1, false, state.Take},
		{"fifo", 2, true, whole},      // FIFO: one at a time
		{"new", 1, false, state.Take}, // not known yet: perSubscription
		{"new", 2, false, state.Take},
		{"new", 3, true, whole},
	} {
		got := pick(step.sub, step.seq)
		if held := got != state.Take; held != step.held {
			t.Errorf("held(%s, %d) = %v, want %v", step.sub, step.seq, held, step.held)
		}
		if got != step.pick {
			t.Errorf("held(%s, %d) picks %d, want %d", step.sub, step.seq, got, step.pick)
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
	if d.held(now, 1).PickSubscription("a") {
		t.Error("a subscription of an endpoint whose circuit holds is taken")
	}
	if got := d.held(now, 1).PickDelivery("a", 1); got != state.SkipSubscription {
		t.Errorf("listed while the circuit holds (%d), or not passed over as a whole", got)
	}
	if !d.held(now.Add(time.Second), 2).PickSubscription("a") || d.held(now.Add(time.Second), 2).PickDelivery("a", 1) != state.Take {
		t.Error("held once the probe is due")
	}
}

// TestHeldRefusesWholeSubscriptionsBeforeTheirDeliveries: the listing's picker refuses a
// subscription — before any of its deliveries is read — when it is owned elsewhere, at its bound,
// or its endpoint is held by its circuit, full or slow with the slow pool full; it takes one that
// has room, or that it does not know yet.
func TestHeldRefusesWholeSubscriptionsBeforeTheirDeliveries(t *testing.T) {
	d := newListingDeliverer(t, Options{PerSubscription: 2, PerEndpoint: 3, SlowInFlight: 1,
		Owns: func(id string) bool { return id != "theirs" }})
	now := time.Now()
	open := &endpointState{limit: unlimited}
	open.state.OpenedAt, open.state.NextProbeAt = now.Add(-time.Minute), now.Add(time.Second)
	d.endpoints["https://open.example"] = open
	d.endpoints["https://full.example"] = &endpointState{limit: unlimited, inflight: 3}
	d.endpoints["https://slow.example"] = &endpointState{limit: unlimited, slow: true}
	d.endpoints["https://ok.example"] = &endpointState{limit: unlimited, inflight: 2}
	d.slowInFlight = 1
	d.subs["at-bound"] = &subscriptionState{endpoint: "https://ok.example", inflight: 2}
	d.subs["room"] = &subscriptionState{endpoint: "https://ok.example", inflight: 1}
	d.subs["circuit"] = &subscriptionState{endpoint: "https://open.example"}
	d.subs["full"] = &subscriptionState{endpoint: "https://full.example"}
	d.subs["slow"] = &subscriptionState{endpoint: "https://slow.example"}
	picker := d.held(now, 1)
	for sub, want := range map[string]bool{
		"theirs": false, "at-bound": false, "circuit": false, "full": false, "slow": false,
		"room": true, "unknown": true,
	} {
		if got := picker.PickSubscription(sub); got != want {
			t.Errorf("PickSubscription(%s) = %v, want %v", sub, got, want)
		}
	}
	if got := picker.PickDelivery("room", 1); got != state.Take {
		t.Errorf("room's delivery: %d", got)
	}
	if picker.PickSubscription("room") {
		t.Error("room is at its endpoint's bound once the listing took one more")
	}
}

// TestHeldCountsEachConnectionsDeliveriesToUnprovenEndpoints: the listing lets through no more of
// a connection's deliveries to endpoints not known to answer quickly than its bound leaves room
// for, counting those in flight; deliveries to endpoints that answered quickly, and other
// connections', go on.
func TestHeldCountsEachConnectionsDeliveriesToUnprovenEndpoints(t *testing.T) {
	d := newListingDeliverer(t, Options{PerConnectionUnproven: 2})
	of := func(conn, endpoint string) *subscriptionState {
		return &subscriptionState{endpoint: endpoint, sub: state.Subscription{ConnectionID: conn}}
	}
	for _, sub := range []string{"a1", "a2", "a3"} {
		d.subs[sub] = of("conn-a", "https://"+sub+".example") // each a new endpoint
	}
	d.subs["a-quick"] = of("conn-a", "https://quick.example")
	d.endpoints["https://quick.example"] = &endpointState{limit: unlimited, quick: true}
	d.subs["b1"] = of("conn-b", "https://b.example")
	d.subs["c1"] = of("conn-c", "https://c.example")
	d.unproven["conn-c"] = 2 // at its bound already

	picker := d.held(time.Now(), 1)
	for _, step := range []struct {
		sub  string
		pick state.Pick
	}{
		{"a1", state.Take},
		{"a2", state.Take},
		{"a3", state.SkipSubscription}, // conn-a's bound: two let through
		{"a-quick", state.Take},        // answered quickly: not counted
		{"b1", state.Take},
		{"c1", state.SkipSubscription},
	} {
		if got := picker.PickDelivery(step.sub, 1); got != step.pick {
			t.Errorf("PickDelivery(%s) = %d, want %d", step.sub, got, step.pick)
		}
	}
	if picker.PickSubscription("c1") {
		t.Error("a subscription of a connection at its bound is taken")
	}
}
