package delivery

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/prometheus/client_golang/prometheus"
)

// gateNow is the clock of the gate tests.
var gateNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testKey is the delivery the gate tests ask about.
var testKey = deliveryKey{sub: "sub-1", seq: 7}

// candidateWith is testKey found by the listing numbered snapshot, its subscription and endpoint
// already looked up (nil: not active or not known).

// unlimited is an endpoint's limit on attempts in flight that never binds before PerEndpoint does.
const unlimited = 1 << 20

func candidateWith(sub *subscriptionState, ep *endpointState) *candidate {
	return &candidate{key: testKey, now: gateNow, snapshot: 5, sub: sub, ep: ep, subLooked: true, epLooked: true}
}

// bestEffort is a best-effort subscription on endpoint "https://a.example" with inflight attempts.
func bestEffort(inflight int) *subscriptionState {
	return &subscriptionState{endpoint: "https://a.example", inflight: inflight}
}

// gateCase is one row of a gate's table: the candidate, and whether the gate admits it.
type gateCase struct {
	name  string
	c     *candidate
	admit bool
}

// checkGate asks g about each row alone, once (the throttle spends what it admits), and checks
// that it admits the row or refuses it under wantName.
func checkGate(t *testing.T, g gate, wantName string, cases []gateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := wantName
			if tc.admit {
				want = ""
			}
			if got := firstRefusal([]gate{g}, tc.c); got != want {
				t.Errorf("refusal %q, want %q", got, want)
			}
		})
	}
}

func TestOwnedHereGate(t *testing.T) {
	mine := func(id string) bool { return id == testKey.sub }
	theirs := func(string) bool { return false }
	c := candidateWith(bestEffort(0), nil)
	checkGate(t, ownedHere{}, refusedNotOwned, []gateCase{{"one replica owns everything", c, true}})
	checkGate(t, ownedHere{mine}, refusedNotOwned, []gateCase{{"this replica's subscription", c, true}})
	checkGate(t, ownedHere{theirs}, refusedNotOwned, []gateCase{{"another replica's subscription", c, false}})
}

func TestInFlightGate(t *testing.T) {
	g := inFlight{map[deliveryKey]bool{{sub: "sub-1", seq: 6}: true, {sub: "sub-2", seq: 7}: true}}
	other := candidateWith(nil, nil)
	other.key = deliveryKey{sub: "sub-1", seq: 8}
	inflight := candidateWith(nil, nil)
	inflight.key = deliveryKey{sub: "sub-2", seq: 7}
	checkGate(t, g, refusedInFlight, []gateCase{
		{"its attempt is in flight", inflight, false},
		{"another delivery of its subscription is", candidateWith(nil, nil), true},
		{"nothing of its subscription is", other, true},
	})
}

func TestFinishedSinceListingGate(t *testing.T) {
	at := func(seq uint64) *candidate {
		c := candidateWith(nil, nil) // found by listing 5
		c.key.seq = seq
		return c
	}
	g := finishedSinceListing{map[deliveryKey]uint64{{"sub-1", 1}: 4, {"sub-1", 2}: 5, {"sub-1", 3}: 6}}
	checkGate(t, g, refusedFinished, []gateCase{
		{"recorded before the listing began", at(1), true},
		{"recorded while it ran", at(2), false},
		{"recorded after it", at(3), false},
		{"never recorded", at(4), true},
	})
}

func TestActiveSubscriptionGate(t *testing.T) {
	checkGate(t, activeSubscription{}, refusedInactive, []gateCase{
		{"active", candidateWith(bestEffort(0), nil), true},
		{"gone, paused or disabled", candidateWith(nil, nil), false},
	})
}

func TestSubscriptionBoundGate(t *testing.T) {
	fifo := func(inflight int) *subscriptionState {
		return &subscriptionState{endpoint: "https://a.example", fifo: true, inflight: inflight}
	}
	listedOf := func(c *candidate, n int) *candidate {
		c.listed = newListing()
		c.listed.bySubscription[testKey.sub] = n
		c.listed.bySubscription["sub-2"] = 10 // another subscription's count does not matter
		return c
	}
	checkGate(t, subscriptionBound{perSubscription: 3}, refusedSubscriptionBusy, []gateCase{
		{"best effort with room", candidateWith(bestEffort(2), nil), true},
		{"best effort at its bound", candidateWith(bestEffort(3), nil), false},
		{"FIFO with none in flight", candidateWith(fifo(0), nil), true},
		{"FIFO with one in flight", candidateWith(fifo(1), nil), false},
		{"FIFO with one let through by the listing", listedOf(candidateWith(fifo(0), nil), 1), false},
		{"in flight and listed below the bound", listedOf(candidateWith(bestEffort(1), nil), 1), true},
		{"in flight and listed at the bound", listedOf(candidateWith(bestEffort(1), nil), 2), false},
		{"not known yet, listed below the bound", listedOf(candidateWith(nil, nil), 2), true},
		{"not known yet, listed at the bound", listedOf(candidateWith(nil, nil), 3), false},
	})
}

func TestCircuitClosedGate(t *testing.T) {
	opened := gateNow.Add(-time.Minute)
	endpoint := func(nextProbe time.Time, probing bool) *endpointState {
		return &endpointState{state: state.Endpoint{Key: "https://a.example", OpenedAt: opened, NextProbeAt: nextProbe}, probing: probing}
	}
	closed := &endpointState{state: state.Endpoint{Key: "https://a.example", ConsecutiveFailures: 3}}
	checkGate(t, circuitClosed{}, refusedCircuitOpen, []gateCase{
		{"endpoint not known yet", candidateWith(bestEffort(0), nil), true},
		{"closed, though failing", candidateWith(bestEffort(0), closed), true},
		{"open, its probe not due", candidateWith(bestEffort(0), endpoint(gateNow.Add(time.Second), false)), false},
		{"open, its probe due now", candidateWith(bestEffort(0), endpoint(gateNow, false)), true},
		{"open, its probe overdue", candidateWith(bestEffort(0), endpoint(gateNow.Add(-time.Second), false)), true},
		{"open, its probe in flight", candidateWith(bestEffort(0), endpoint(gateNow.Add(-time.Second), true)), false},
	})
}

func TestEndpointBoundGate(t *testing.T) {
	endpoint := func(inflight int) *endpointState { return &endpointState{inflight: inflight, limit: unlimited} }
	listedOf := func(c *candidate, n int) *candidate {
		c.listed = newListing()
		c.listed.byEndpoint["https://a.example"] = n
		c.listed.byEndpoint["https://b.example"] = 10 // another endpoint's count does not matter
		return c
	}
	checkGate(t, endpointBound{perEndpoint: 2}, refusedEndpointBusy, []gateCase{
		{"endpoint not known yet", candidateWith(bestEffort(0), nil), true},
		{"with room", candidateWith(bestEffort(0), endpoint(1)), true},
		{"at its bound", candidateWith(bestEffort(0), endpoint(2)), false},
		{"in flight and listed at the bound", listedOf(candidateWith(bestEffort(0), endpoint(1)), 1), false},
		{"listed below the bound", listedOf(candidateWith(bestEffort(0), endpoint(0)), 1), true},
	})
}

func TestThrottleGate(t *testing.T) {
	// full has its one token; spent has none, and gets the next in 1 s.
	full := func() *rate.Limiter { return rate.NewLimiter(1, 1) }
	spent := func() *rate.Limiter {
		lim := rate.NewLimiter(1, 1)
		lim.AllowN(gateNow, 1)
		return lim
	}
	throttled := func(subLimiter, endpointLimiter *rate.Limiter) *candidate {
		sub := bestEffort(0)
		sub.limiter = subLimiter
		return candidateWith(sub, &endpointState{limiter: endpointLimiter})
	}
	var waits []time.Duration
	g := throttle{wake: func(wait time.Duration) { waits = append(waits, wait) }}
	checkGate(t, g, refusedThrottled, []gateCase{
		{"no rate", throttled(nil, nil), true},
		{"the subscription's rate allows it", throttled(full(), nil), true},
		{"the endpoint's rate allows it", throttled(nil, full()), true},
		{"both allow it", throttled(full(), full()), true},
		{"the subscription's says wait", throttled(spent(), full()), false},
		{"the endpoint's says wait", throttled(full(), spent()), false},
	})

	t.Run("a refusal spends nothing and says when to look again", func(t *testing.T) {
		waits = nil
		subLimiter, endpointLimiter := full(), spent()
		if g.admit(throttled(subLimiter, endpointLimiter)) {
			t.Fatal("admitted with the endpoint's rate spent")
		}
		if tokens := subLimiter.TokensAt(gateNow); tokens != 1 {
			t.Errorf("the subscription's rate has %v tokens left, want 1: a refusal spent it", tokens)
		}
		if len(waits) != 1 || waits[0] != time.Second {
			t.Errorf("wake got %v, want [1s]", waits)
		}
	})
	t.Run("at listing it spends nothing and counts what the listing let through", func(t *testing.T) {
		waits = nil
		subLimiter, endpointLimiter := full(), rate.NewLimiter(1, 5)
		c := throttled(subLimiter, endpointLimiter)
		c.listed = newListing()
		if !g.admit(c) {
			t.Fatal("refused at listing with both rates full")
		}
		if s, e := subLimiter.TokensAt(gateNow), endpointLimiter.TokensAt(gateNow); s != 1 || e != 5 {
			t.Errorf("tokens left %v and %v, want 1 and 5: the listing spent them", s, e)
		}
		c.listed.bySubscription[testKey.sub] = 1 // the subscription's one token is the listing's already
		if g.admit(c) {
			t.Error("admitted beyond the subscription's tokens")
		}
		c.listed.bySubscription[testKey.sub] = 0
		c.listed.byEndpoint["https://a.example"] = 5
		if g.admit(c) {
			t.Error("admitted beyond the endpoint's tokens")
		}
		if len(waits) != 2 || waits[0] != time.Second || waits[1] != time.Second {
			t.Errorf("wake got %v, want [1s 1s]", waits)
		}
	})
	t.Run("an admission spends one of each", func(t *testing.T) {
		waits = nil
		subLimiter, endpointLimiter := full(), full()
		if !g.admit(throttled(subLimiter, endpointLimiter)) {
			t.Fatal("refused with both rates full")
		}
		if s, e := subLimiter.TokensAt(gateNow), endpointLimiter.TokensAt(gateNow); s != 0 || e != 0 {
			t.Errorf("tokens left %v and %v, want 0 and 0", s, e)
		}
		if len(waits) != 0 {
			t.Errorf("wake got %v on an admission", waits)
		}
	})
}

// refuseAs is a gate that refuses when refuse, under name.
type refuseAs struct {
	gateName string
	refuse   bool
	asked    *[]string
}

func (g refuseAs) name() string { return g.gateName }

func (g refuseAs) admit(*candidate) bool {
	*g.asked = append(*g.asked, g.gateName)
	return !g.refuse
}

func TestFirstRefusalStopsAtTheFirstGateThatRefuses(t *testing.T) {
	var asked []string
	gates := []gate{refuseAs{"a", false, &asked}, refuseAs{"b", true, &asked}, refuseAs{"c", true, &asked}}
	if got := firstRefusal(gates, candidateWith(nil, nil)); got != "b" {
		t.Errorf("firstRefusal = %q, want b", got)
	}
	if len(asked) != 2 {
		t.Errorf("asked %v, want a and b only", asked)
	}
	if got := firstRefusal(gates[:1], candidateWith(nil, nil)); got != "" {
		t.Errorf("firstRefusal of gates that all admit = %q", got)
	}
}

// TestGateOrder pins the order of the gates, which is part of their behaviour: the throttle comes
// last (it spends what it admits), the listing asks no gate that needs a stored subscription.
func TestGateOrder(t *testing.T) {
	d := &Deliverer{inflight: map[deliveryKey]bool{}, recent: map[deliveryKey]uint64{}}
	d.setGates()
	names := func(gates []gate) []string {
		var out []string
		for _, g := range gates {
			out = append(out, g.name())
		}
		return out
	}
	want := []string{refusedInFlight, refusedFinished, refusedInactive, refusedSubscriptionBusy, refusedCircuitOpen,
		refusedEndpointBusy, refusedSlowPoolFull, refusedUnprovenBusy, refusedThrottled}
	if got := names(d.gates); !slices.Equal(got, want) {
		t.Errorf("dispatch asks %v, want %v", got, want)
	}
	want = []string{refusedInFlight, refusedFinished, refusedSubscriptionBusy, refusedCircuitOpen, refusedEndpointBusy,
		refusedSlowPoolFull, refusedUnprovenBusy, refusedThrottled}
	var listing []gate
	for _, g := range d.listingGates {
		listing = append(listing, g.gate)
	}
	if got := names(listing); !slices.Equal(got, want) {
		t.Errorf("the listing asks %v, want %v", got, want)
	}
	if d.ownership.name() != refusedNotOwned {
		t.Errorf("ownership is %q", d.ownership.name())
	}
}

// An endpoint may have at most its limit in flight (1 until it answers, growing with quick
// answers), and a slow endpoint's attempts wait while the slow pool is full.
func TestEndpointLimitAndSlowPoolGates(t *testing.T) {
	sub := &subscriptionState{endpoint: "https://a.example"}
	ep := &endpointState{inflight: 1, limit: 1}
	if got := firstRefusal([]gate{endpointBound{32}}, candidateWith(sub, ep)); got != refusedEndpointBusy {
		t.Errorf("at its limit of 1: %q, want %q", got, refusedEndpointBusy)
	}
	ep.limit = 2
	if got := firstRefusal([]gate{endpointBound{32}}, candidateWith(sub, ep)); got != "" {
		t.Errorf("below its limit: %q", got)
	}

	d := &Deliverer{slowMax: 2, slowInFlight: 2}
	for _, tc := range []struct {
		slow     bool
		inFlight int
		want     string
	}{
		{slow: false, inFlight: 2, want: ""},
		{slow: true, inFlight: 2, want: refusedSlowPoolFull},
		{slow: true, inFlight: 1, want: ""},
	} {
		d.slowInFlight = tc.inFlight
		slow := &endpointState{slow: tc.slow, limit: 1}
		if got := firstRefusal([]gate{slowPool{d}}, candidateWith(sub, slow)); got != tc.want {
			t.Errorf("slow=%v with %d of 2 in the slow pool: %q, want %q", tc.slow, tc.inFlight, got, tc.want)
		}
	}
}

// A slot grows its endpoint's limit with each quick answer, up to PerEndpoint; an attempt with no
// answer within slowAfter moves to the slow pool, freeing its normal slot, and marks the endpoint
// slow with its limit halved; a slow endpoint's next attempt starts in the slow pool.
func TestSlotsFollowHowQuicklyAnEndpointAnswers(t *testing.T) {
	d := &Deliverer{perEndpoint: 3, slowAfter: time.Hour, nudge: make(chan struct{}, 1), unproven: map[string]int{},
		metrics: &metrics{stalled: prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})}}
	ep := &endpointState{limit: 1}
	for want := 2; want <= 4; want++ {
		s := d.occupyLocked(ep, "conn-1")
		s.answered()
		s.releaseLocked()
		if ep.limit != min(want, 3) || ep.slow {
			t.Fatalf("after %d quick answers: limit %d slow %v", want-1, ep.limit, ep.slow)
		}
	}
	s := d.occupyLocked(ep, "conn-1")
	if d.posting != 1 || d.slowInFlight != 0 {
		t.Fatalf("a normal slot: posting %d, slow pool %d", d.posting, d.slowInFlight)
	}
	s.stall() // as the slowAfter timer does
	if d.posting != 0 || d.slowInFlight != 1 || !ep.slow || ep.limit != 1 {
		t.Fatalf("stalled: posting %d, slow pool %d, slow %v, limit %d", d.posting, d.slowInFlight, ep.slow, ep.limit)
	}
	next := d.occupyLocked(ep, "conn-1")
	if d.posting != 0 || d.slowInFlight != 2 {
		t.Fatalf("a slow endpoint's next attempt: posting %d, slow pool %d", d.posting, d.slowInFlight)
	}
	s.releaseLocked()
	next.releaseLocked()
	if d.posting != 0 || d.slowInFlight != 0 {
		t.Fatalf("released: posting %d, slow pool %d", d.posting, d.slowInFlight)
	}
}

func TestUnprovenBoundGate(t *testing.T) {
	of := func(conn string) *subscriptionState {
		return &subscriptionState{endpoint: "https://a.example", sub: state.Subscription{ConnectionID: conn}}
	}
	quick := &endpointState{limit: unlimited, quick: true}
	fresh := &endpointState{limit: 1}
	slow := &endpointState{limit: 1, slow: true}
	listedOf := func(c *candidate, conn string, n int) *candidate {
		c.listed = newListing()
		for range n {
			c.listed.addUnproven(conn)
		}
		c.listed.addUnproven("conn-other") // another connection's count does not matter
		return c
	}
	g := unprovenBound{unproven: map[string]int{"conn-a": 2, "conn-full": 3}, perConnection: 3}
	checkGate(t, g, refusedUnprovenBusy, []gateCase{
		{"a new endpoint, its connection below its bound", candidateWith(of("conn-a"), fresh), true},
		{"an endpoint not kept yet, below the bound", candidateWith(of("conn-a"), nil), true},
		{"a slow endpoint, below the bound", candidateWith(of("conn-a"), slow), true},
		{"a connection with none in flight", candidateWith(of("conn-b"), fresh), true},
		{"a new endpoint, the connection at its bound", candidateWith(of("conn-full"), fresh), false},
		{"a slow endpoint, the connection at its bound", candidateWith(of("conn-full"), slow), false},
		{"an endpoint not kept yet, the connection at its bound", candidateWith(of("conn-full"), nil), false},
		{"in flight and listed at the bound", listedOf(candidateWith(of("conn-a"), fresh), "conn-a", 1), false},
		{"listed below the bound", listedOf(candidateWith(of("conn-b"), fresh), "conn-b", 2), true},
		{"an endpoint that answered quickly, the connection at its bound", candidateWith(of("conn-full"), quick), true},
		{"a subscription not known yet", candidateWith(nil, nil), true},
	})
}

// An attempt counts against its connection's bound when its endpoint is not known to answer
// quickly as it starts, or when it stalls; it stops counting when it ends, and a connection with
// none counted is forgotten.
func TestSlotsCountUnprovenAttemptsPerConnection(t *testing.T) {
	d := &Deliverer{perEndpoint: 3, slowAfter: time.Hour, nudge: make(chan struct{}, 1), unproven: map[string]int{},
		metrics: &metrics{stalled: prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})}}
	ep := &endpointState{limit: 1}
	first := d.occupyLocked(ep, "conn-a")
	other := d.occupyLocked(&endpointState{limit: 1}, "conn-b")
	if d.unproven["conn-a"] != 1 || d.unproven["conn-b"] != 1 {
		t.Fatalf("attempts to new endpoints: counted %v, want one each", d.unproven)
	}
	first.answered()
	first.releaseLocked()
	other.releaseLocked()
	if !ep.quick || len(d.unproven) != 0 {
		t.Fatalf("after a quick answer: quick %v, counted %v", ep.quick, d.unproven)
	}
	proven := d.occupyLocked(ep, "conn-a")
	if len(d.unproven) != 0 {
		t.Fatalf("an attempt to an endpoint that answered quickly is counted: %v", d.unproven)
	}
	proven.stall() // as the slowAfter timer does
	if d.unproven["conn-a"] != 1 || ep.quick || !ep.slow {
		t.Fatalf("stalled: counted %v, quick %v, slow %v", d.unproven, ep.quick, ep.slow)
	}
	proven.stall() // the timer fires once; a second call changes nothing
	next := d.occupyLocked(ep, "conn-a")
	if d.unproven["conn-a"] != 2 || d.slowInFlight != 2 {
		t.Fatalf("a slow endpoint's next attempt: counted %v, slow pool %d", d.unproven, d.slowInFlight)
	}
	proven.releaseLocked()
	next.releaseLocked()
	if len(d.unproven) != 0 || d.slowInFlight != 0 || d.posting != 0 {
		t.Fatalf("released: counted %v, slow pool %d, posting %d", d.unproven, d.slowInFlight, d.posting)
	}
}
