package delivery

import "time"

// candidate is a due delivery on its way through the gates, with what they read of it. Its
// subscription and endpoint are looked up once, by the first gate that asks, so that a delivery a
// gate refuses early costs no lookup.
type candidate struct {
	key      deliveryKey
	now      time.Time // the deliverer's clock when the listing began
	snapshot uint64    // the listing that found the delivery
	lookup   lookup
	listed   *listing // held's count of what it let through; nil in dispatch

	sub       *subscriptionState
	ep        *endpointState
	subLooked bool
	epLooked  bool
}

// lookup finds the subscription and endpoint a candidate's gates read, both with d.mu held:
// dispatch loads what it does not keep yet (the Deliverer itself), held sees only what is kept
// (keptOnly).
type lookup interface {
	// subscriptionLocked returns subscription id, or nil: dispatch's when it cannot be read or is
	// not active, held's when it is not kept.
	subscriptionLocked(id string, now time.Time) *subscriptionState
	// endpointLocked returns endpoint key, or nil (held's, when it is not kept).
	endpointLocked(key string) *endpointState
}

// subscription is the candidate's subscription, nil when it is not active (dispatch) or not
// known yet (held).
func (c *candidate) subscription() *subscriptionState {
	if !c.subLooked {
		c.sub, c.subLooked = c.lookup.subscriptionLocked(c.key.sub, c.now), true
	}
	return c.sub
}

// endpoint is the endpoint of the candidate's subscription, nil when the subscription is, or (held)
// when the endpoint is not known yet.
func (c *candidate) endpoint() *endpointState {
	if !c.epLooked {
		if sub := c.subscription(); sub != nil {
			c.ep = c.lookup.endpointLocked(sub.endpoint)
		}
		c.epLooked = true
	}
	return c.ep
}

// keptOnly is held's lookup: what dispatch keeps of subscriptions and endpoints, read from no
// store, whatever a subscription's status (DueDeliveries asks held only about active ones).
type keptOnly struct{ d *Deliverer }

func (k keptOnly) subscriptionLocked(id string, _ time.Time) *subscriptionState { return k.d.subs[id] }

func (k keptOnly) endpointLocked(key string) *endpointState { return k.d.endpoints[key] }

// listing counts what one held listing has let through so far, per subscription and per
// endpoint: their bounds count those as in flight, since dispatch is about to start them.
type listing struct {
	bySubscription map[string]int
	byEndpoint     map[string]int
	byConnection   map[string]int // fairness.go
	slow           int            // let through to slow endpoints
	// unproven: per connection, let through to endpoints not known to answer quickly (unproven.go);
	// nil until the listing lets one through, which is rare once a deliverer has run a while.
	unproven map[string]int
}

func newListing() *listing {
	return &listing{bySubscription: map[string]int{}, byEndpoint: map[string]int{}, byConnection: map[string]int{}}
}

// forSubscription is how many deliveries of subscription id the listing let through; 0 for nil.
func (l *listing) forSubscription(id string) int {
	if l == nil {
		return 0
	}
	return l.bySubscription[id]
}

// forEndpoint is how many deliveries to endpoint key the listing let through; 0 for nil.
func (l *listing) forEndpoint(key string) int {
	if l == nil {
		return 0
	}
	return l.byEndpoint[key]
}

// add counts c as let through.
func (l *listing) add(c *candidate) {
	l.bySubscription[c.key.sub]++
	if sub := c.subscription(); sub != nil {
		l.byEndpoint[sub.endpoint]++
		l.byConnection[sub.sub.ConnectionID]++
		if ep := c.endpoint(); ep == nil || !ep.quick {
			l.addUnproven(sub.sub.ConnectionID)
		}
	}
	if ep := c.endpoint(); ep != nil && ep.slow {
		l.slow++
	}
}

// toSlowEndpoints is how many deliveries to slow endpoints the listing let through; 0 for nil.
func (l *listing) toSlowEndpoints() int {
	if l == nil {
		return 0
	}
	return l.slow
}
