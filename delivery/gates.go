package delivery

import "github.com/hipchat-connector/hipchat-connector/state"

// A gate is one rule a due delivery must pass before its attempt starts. dispatch asks its gates
// in order, holding d.mu, and the first that refuses passes the delivery over for this round (a
// later dispatch finds it again). Gates change nothing but the throttle, which spends a
// reservation only when it admits, and so comes last; what the candidate's lookup reads on the way
// (a subscription or endpoint dispatch does not keep yet) is kept, as it always was.
type gate interface {
	// name is what the gate refuses a delivery for, as a metric would count it.
	name() string
	// admit reports whether c passes this gate.
	admit(c *candidate) bool
}

// Names of the refusals, one per gate.
const (
	refusedNotOwned         = "not_owned"              // another replica owns its subscription
	refusedInFlight         = "in_flight"              // its attempt is in flight or being recorded
	refusedFinished         = "finished_since_listing" // recorded after the listing that found it began
	refusedInactive         = "subscription_inactive"  // its subscription is gone, paused or disabled
	refusedSubscriptionBusy = "subscription_busy"      // its subscription has all its attempts in flight
	refusedCircuitOpen      = "circuit_open"           // its endpoint's circuit holds it
	refusedEndpointBusy     = "endpoint_busy"          // its endpoint has all its attempts in flight
	refusedThrottled        = "throttled"              // a rate of its subscription or endpoint says wait
	refusedSlowPoolFull     = "slow_pool_full"         // its endpoint is slow and the slow pool is full
	// its endpoint is not known to answer quickly, and its connection has as many attempts in flight
	// to such endpoints as it may (unproven.go)
	refusedUnprovenBusy = "connection_unproven_busy"
)

// orderedGate is one line of dispatch's list of gates.
type orderedGate struct {
	gate
	// atListing: held asks it too, before the delivery's record is read.
	atListing bool
	// onlyThis: it refuses a delivery for what is true of that delivery alone, so the listing goes
	// on with the next of its subscription (state.Skip). Any other gate refuses for what is true of
	// the subscription or its endpoint, and so of every delivery of that subscription the listing
	// would come to: the listing passes over the subscription as a whole (state.SkipSubscription).
	onlyThis bool
	// ofEndpoint: it refuses for what is true of the endpoint (blocked.go).
	ofEndpoint bool
}

// gateOrder is dispatch's list of gates, in the order it asks them. held asks the gates marked
// atListing, in the same order; it leaves out what needs the subscription as stored (a
// subscription is read by dispatch alone, and DueDeliveries asks held only about active
// subscriptions' deliveries). The throttle it asks only looks, counting what the listing let
// through (admitAtListing): a reservation spent there might be on a delivery that does not start.
// A new gate is one more line here.
func (d *Deliverer) gateOrder() []orderedGate {
	return []orderedGate{
		{gate: inFlight{d.inflight}, atListing: true, onlyThis: true},
		{gate: finishedSinceListing{d.recent}, atListing: true, onlyThis: true},
		{gate: activeSubscription{}},
		{gate: subscriptionBound{d.perSubscription}, atListing: true},
		{gate: circuitClosed{}, atListing: true, ofEndpoint: true},
		{gate: endpointBound{d.perEndpoint}, atListing: true, ofEndpoint: true},
		{gate: slowPool{d}, atListing: true, ofEndpoint: true},
		{gate: unprovenBound{d.unproven, d.perConnection}, atListing: true},
		{gate: throttle{d.wakeLocked}, atListing: true},
	}
}

// pickWhenRefused is what the listing does with a delivery the gate refuses.
func (g orderedGate) pickWhenRefused() state.Pick {
	if g.onlyThis {
		return state.Skip
	}
	return state.SkipSubscription
}

// setGates fills d.gates, d.listingGates and d.subscriptionGates from gateOrder.
func (d *Deliverer) setGates() {
	d.ownership = ownedHere{d.owns}
	d.gates, d.listingGates, d.subscriptionGates = nil, nil, nil
	for _, g := range d.gateOrder() {
		d.gates = append(d.gates, g.gate)
		if g.atListing {
			d.listingGates = append(d.listingGates, g)
			if !g.onlyThis {
				d.subscriptionGates = append(d.subscriptionGates, g)
			}
		}
	}
}

// firstRefusal asks gates in order and returns the name of the first that refuses c, or "" when
// every one admits it.
func firstRefusal(gates []gate, c *candidate) string {
	for _, g := range gates {
		if !g.admit(c) {
			return g.name()
		}
	}
	return ""
}

// refusing asks gates in order and returns the first that refuses c; ok is false when every one
// admits it.
func refusing(gates []orderedGate, c *candidate) (refused orderedGate, ok bool) {
	for _, g := range gates {
		if !g.admit(c) {
			return g, true
		}
	}
	return orderedGate{}, false
}

// ownedHere refuses the deliveries of subscriptions another replica owns (Options.Owns). held
// asks it before taking d.mu, since Owns takes locks of its own, and passes over a subscription it
// refuses as a whole; nil owns admits every delivery.
type ownedHere struct {
	owns func(subscriptionID string) bool
}

func (ownedHere) name() string { return refusedNotOwned }

func (g ownedHere) admit(c *candidate) bool { return g.owns == nil || g.owns(c.key.sub) }

// inFlight refuses a delivery whose attempt is in flight or waiting to be recorded.
type inFlight struct{ inflight map[deliveryKey]bool }

func (inFlight) name() string { return refusedInFlight }

func (g inFlight) admit(c *candidate) bool { return !g.inflight[c.key] }

// finishedSinceListing refuses a delivery recorded after the listing that found it began: that
// listing's copy may be stale, and a delivered event must never be POSTed twice.
type finishedSinceListing struct{ recent map[deliveryKey]uint64 }

func (finishedSinceListing) name() string { return refusedFinished }

func (g finishedSinceListing) admit(c *candidate) bool {
	at, ok := g.recent[c.key]
	return !ok || at < c.snapshot
}

// activeSubscription refuses a delivery whose subscription cannot be read (deleted, or a storage
// failure) or is not active.
type activeSubscription struct{}

func (activeSubscription) name() string { return refusedInactive }

func (activeSubscription) admit(c *candidate) bool { return c.subscription() != nil }

// subscriptionBound refuses a delivery whose subscription has as many attempts in flight (and, at
// listing, let through) as it may: one when FIFO, perSubscription otherwise, and perSubscription
// when the subscription is not known yet.
type subscriptionBound struct{ perSubscription int }

func (subscriptionBound) name() string { return refusedSubscriptionBusy }

func (g subscriptionBound) admit(c *candidate) bool {
	room, inflight := g.perSubscription, 0
	if sub := c.subscription(); sub != nil {
		room, inflight = sub.room(g.perSubscription), sub.inflight
	}
	return inflight+c.listed.forSubscription(c.key.sub) < room
}

// circuitClosed refuses a delivery whose endpoint's open circuit holds it: its probe is in flight
// or not yet due. An open circuit whose probe is due lets one delivery through, as the probe.
type circuitClosed struct{}

func (circuitClosed) name() string { return refusedCircuitOpen }

func (circuitClosed) admit(c *candidate) bool {
	ep := c.endpoint()
	return ep == nil || !ep.circuitHolds(c.now)
}

// endpointBound refuses a delivery whose endpoint has as many attempts in flight (and, at listing,
// let through) as it may now: its limit (slow.go), at most perEndpoint. An endpoint not known yet
// has none in flight.
type endpointBound struct{ perEndpoint int }

func (endpointBound) name() string { return refusedEndpointBusy }

func (g endpointBound) admit(c *candidate) bool {
	ep := c.endpoint()
	if ep == nil {
		return true
	}
	return ep.inflight+c.listed.forEndpoint(c.subscription().endpoint) < min(ep.limit, g.perEndpoint)
}
