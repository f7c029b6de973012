package delivery

import (
	"context"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// dispatchBatchDivisor: while attempts are in flight, dispatch waits until at least
// 1/dispatchBatchDivisor of the slots is free (8 of 64), so that one listing of what is due
// starts several attempts rather than one per finished POST. A listing costs a read
// transaction and a pass over every delivery in flight or waiting to be recorded, whatever it
// starts. A finished POST nudges Run, so the wait ends with the POST that frees the last slot
// needed.
const dispatchBatchDivisor = 8

// dispatch reads what is due and starts an attempt for each delivery that passes every gate
// (gates.go), while slots are free (enough of them: dispatchBatchDivisor), and returns how many it
// started. A delivery a gate refuses is passed over, and found again by a later dispatch. Unless
// forced, it does not list while what the last listing found is held by full endpoints
// (blocked.go).
func (d *Deliverer) dispatch(ctx context.Context, force bool) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	now := d.now()
	d.mu.Lock()
	posting := d.posting
	free := d.concurrency - posting
	worth := force || d.worthListingLocked(now)
	if worth {
		d.snapshots++
	}
	snapshot := d.snapshots
	d.mu.Unlock()
	if !worth || free <= 0 || (free < d.concurrency/dispatchBatchDivisor && posting > 0) {
		return 0, nil
	}
	// Read twice the free slots: some of what is due may have to wait (bounds, throttles), and every
	// delivery read costs a read and a decode, whether it starts or not.
	picker := d.held(now, snapshot)
	picker.perConnection = free // fairness.go
	due, err := d.store.PickDue(now, 2*free, picker)
	if err != nil {
		return 0, err
	}

	started := 0
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleListingLocked(&picker.blocked, len(due), 2*free)
	for key, finishedAt := range d.recent {
		if finishedAt < snapshot {
			delete(d.recent, key) // this snapshot began after it finished: its view is fresh
		}
	}
	var c candidate // one for every delivery of the listing: a listing is read often
	for _, del := range d.inTurnsLocked(due) {
		if d.posting >= d.concurrency {
			break
		}
		c = candidate{key: deliveryKey{del.SubscriptionID, del.Seq}, now: now, snapshot: snapshot, lookup: d}
		if firstRefusal(d.gates, &c) != "" {
			continue
		}
		d.startLocked(ctx, del, &c)
		started++
	}
	d.forgetIdleLocked(now)
	return started, nil
}

// startLocked starts the attempt of a candidate every gate admitted.
func (d *Deliverer) startLocked(ctx context.Context, del state.Delivery, c *candidate) {
	sub, ep := c.subscription(), c.endpoint()
	probe := ep.state.Open() // the circuit admitted it: the one attempt of an open circuit whose probe is due
	d.inflight[c.key] = true
	s := d.occupyLocked(ep, sub.sub.ConnectionID)
	sub.inflight++
	ep.inflight++
	ep.probing = probe
	d.wg.Add(1)
	go d.run(ctx, del, sub.sub, sub, s, probe)
}

// run makes one attempt: it releases the POST's slot as soon as the answer is in, and hands the
// attempt to the group commit, which releases the delivery once it is recorded.
func (d *Deliverer) run(ctx context.Context, del state.Delivery, subscription state.Subscription, sub *subscriptionState, s *slot, probe bool) {
	ep := s.ep
	key := deliveryKey{del.SubscriptionID, del.Seq}
	var finished *finishedAttempt
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("delivery attempt panicked", "subscription", del.SubscriptionID, "delivery", del.ID, "panic", r)
			finished = nil
		}
		d.mu.Lock()
		s.releaseLocked()
		sub.inflight--
		ep.inflight--
		if probe {
			ep.probing = false
		}
		d.mu.Unlock()
		if finished == nil {
			d.release(key)
			return
		}
		d.wake() // the POST's slot is free: the next attempts go while this one is recorded
		d.record(*finished)
	}()
	attemptCtx, cancel := outliving(ctx, shutdownGrace)
	defer cancel()
	finished = d.attempt(attemptCtx, del, subscription, s)
}

// shutdownGrace is how long an attempt in flight may still take once the deliverer is told to stop:
// a receiver's answer on its way is then read and recorded, so a graceful restart does not send a
// delivered event again. A receiver slower than that is cut; its delivery stays due and goes again
// after the restart, under its webhook-id.
const shutdownGrace = 2 * time.Second

// outliving is a context that ends grace after ctx does (or when cancelled).
func outliving(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return inner, func() {
		stop()
		cancel()
	}
}

// release ends a delivery's turn: it may be dispatched again by a snapshot taken from now on.
func (d *Deliverer) release(key deliveryKey) {
	d.mu.Lock()
	delete(d.inflight, key)
	d.recent[key] = d.snapshots
	d.mu.Unlock()
	d.wg.Done()
	d.wake()
}

// held returns dispatch's picker: it asks a subscription, and then each of its due deliveries, the
// gates that need no record of them (ownership, then those gateOrder marks atListing), seeing only
// the subscriptions and endpoints dispatch keeps, and counts what it takes against their bounds.
// The records of the deliveries it passes over are not even read, and the listing's limit is spent
// on deliveries that can start: a subscription with many due deliveries at its bound would
// otherwise fill it. A subscription that is full, held by its endpoint's circuit, at its
// endpoint's bound or owned by another replica is passed over before anything of it is read, so
// that its queue, however long, costs the listing one entry.
func (d *Deliverer) held(now time.Time, snapshot uint64) *listingPicker {
	return &listingPicker{d: d, now: now, snapshot: snapshot, listed: newListing()}
}

// listingPicker is one listing's state.Picker (held).
type listingPicker struct {
	d        *Deliverer
	now      time.Time
	snapshot uint64
	listed   *listing
	blocked  blockedListing
	c        candidate // one for every question: a listing may ask thousands
	// perConnection is the most deliveries of one connection the listing takes (fairness.go).
	perConnection int
}

// PickSubscription asks the gates that refuse for what is true of a subscription or its endpoint.
func (p *listingPicker) PickSubscription(subID string) bool {
	d := p.d
	p.c = candidate{key: deliveryKey{subID, 0}, now: p.now, snapshot: p.snapshot, lookup: keptOnly{d}, listed: p.listed}
	if !d.ownership.admit(&p.c) { // before d.mu: Owns takes locks of its own
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.overShareLocked() {
		return false
	}
	if g, refused := refusing(d.subscriptionGates, &p.c); refused {
		p.blocked.note(g.ofEndpoint, &p.c)
		return false
	}
	return true
}

// overShareLocked reports whether the listing holds its share of the candidate's connection
// already (fairness.go), noting it as a refusal that is not an endpoint's.
func (p *listingPicker) overShareLocked() bool {
	sub := p.c.subscription()
	if sub == nil || !p.listed.overShare(sub.sub.ConnectionID, p.perConnection) {
		return false
	}
	p.blocked.note(false, &p.c)
	return true
}

// PickDelivery asks every listing gate, and counts what it takes.
func (p *listingPicker) PickDelivery(subID string, seq uint64) state.Pick {
	d := p.d
	p.c = candidate{key: deliveryKey{subID, seq}, now: p.now, snapshot: p.snapshot, lookup: keptOnly{d}, listed: p.listed}
	if !d.ownership.admit(&p.c) {
		return state.SkipSubscription
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.overShareLocked() {
		return state.SkipSubscription
	}
	if g, refused := refusing(d.listingGates, &p.c); refused {
		if !g.onlyThis {
			p.blocked.note(g.ofEndpoint, &p.c)
		}
		return g.pickWhenRefused()
	}
	p.listed.add(&p.c)
	return state.Take
}
