package delivery

import "time"

// A listing that found every delivery it could not take held by the bounds of some endpoints —
// full, slow with the slow pool full, or held by their circuit — and nothing else due, says so:
// until one of those endpoints has room for a batch (an eighth of its limit, as dispatch waits for
// an eighth of the slots) or its circuit's probe is due, a POST that ends or an attempt recorded
// starts no listing, since it would pass over the same subscriptions to find the same nothing. A
// nudge from outside (the poller's commit, the API, a change of replicas), the ticker and a
// throttle's timer list as always. Without it, two hundred subscriptions queued behind one full
// endpoint cost every slot freed there a listing that passed over all two hundred.

// blockedListing is what one listing's picker noted of why it passed over what it did.
type blockedListing struct {
	endpoints map[string]bool // endpoints whose bounds refused a subscription or a delivery
	elsewhere bool            // something else did: a subscription's own bound
}

// note records a refusal of candidate c by a gate of its endpoint (ofEndpoint) or another.
func (b *blockedListing) note(ofEndpoint bool, c *candidate) {
	sub := c.subscription()
	if !ofEndpoint || sub == nil {
		b.elsewhere = true
		return
	}
	if b.endpoints == nil {
		b.endpoints = map[string]bool{}
	}
	b.endpoints[sub.endpoint] = true
}

// settleListingLocked keeps what a listing that returned got deliveries, of limit, noted: the
// endpoints that held what was due, when nothing else did and the listing came to everything due
// (it returned fewer than its limit); nothing otherwise.
func (d *Deliverer) settleListingLocked(b *blockedListing, got, limit int) {
	d.blocked = nil
	if got < limit && !b.elsewhere && len(b.endpoints) > 0 {
		d.blocked = b.endpoints
	}
}

// worthListingLocked reports whether a listing at now may find something to start: always, unless
// the last one was held by endpoints only and none of them has room for a batch, or a probe due,
// since.
func (d *Deliverer) worthListingLocked(now time.Time) bool {
	for key := range d.blocked {
		ep := d.endpoints[key]
		if ep == nil {
			return true
		}
		limit := min(ep.limit, d.perEndpoint)
		if ep.state.Open() {
			if !ep.circuitHolds(now) {
				return true
			}
			continue
		}
		if limit-ep.inflight >= max(1, limit/dispatchBatchDivisor) {
			return true
		}
	}
	return d.blocked == nil
}

// wake makes Run look for due deliveries, as Nudge does, for a reason of the deliverer's own (a
// slot freed, an attempt recorded), which worthListingLocked weighs.
func (d *Deliverer) wake() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}
