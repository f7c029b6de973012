package delivery

import (
	"time"

	"golang.org/x/time/rate"
)

// throttle refuses a delivery while its subscription's maxPerSecond or its endpoint's
// -callback-rate says wait. At listing it only looks (admitAtListing). In dispatch it reserves
// from both at once; when either says wait, neither is spent
// and wake is told how long (dispatch runs again then). It is the last gate: a delivery it admits
// starts, so what it spends is spent on an attempt.
type throttle struct{ wake func(wait time.Duration) }

func (throttle) name() string { return refusedThrottled }

func (g throttle) admit(c *candidate) bool {
	if c.listed != nil {
		return g.admitAtListing(c)
	}
	var reservations []*rate.Reservation
	var wait time.Duration
	for _, lim := range c.limiters() {
		if lim == nil {
			continue
		}
		r := lim.ReserveN(c.now, 1)
		reservations = append(reservations, r)
		wait = max(wait, r.DelayFrom(c.now))
	}
	if wait == 0 {
		return true
	}
	for _, r := range reservations {
		r.CancelAt(c.now)
	}
	g.wake(wait)
	return false
}

// admitAtListing is the throttle as the listing asks it: it spends nothing (what the listing lets
// through may not start), and admits c only when each rate has a token for it beside one for every
// delivery of the same subscription or endpoint the listing let through already. A throttled
// subscription's queue then costs the listing what it may send now, not the listing's room, which
// deliveries that can start would wait for. A refusal tells wake when to look again.
func (g throttle) admitAtListing(c *candidate) bool {
	lims := c.limiters()
	var listed [2]int
	if sub := c.subscription(); sub != nil {
		listed = [2]int{c.listed.forSubscription(c.key.sub), c.listed.forEndpoint(sub.endpoint)}
	}
	var wait time.Duration
	for i, lim := range lims {
		if lim == nil || lim.Limit() == rate.Inf {
			continue
		}
		need := float64(listed[i] + 1)
		if tokens := lim.TokensAt(c.now); tokens < need {
			wait = max(wait, time.Duration((need-tokens)/float64(lim.Limit())*float64(time.Second)))
		}
	}
	if wait == 0 {
		return true
	}
	g.wake(wait)
	return false
}

// limiters are the throttles of the candidate's subscription and endpoint; nil for each it lacks.
func (c *candidate) limiters() [2]*rate.Limiter {
	var lims [2]*rate.Limiter
	if sub := c.subscription(); sub != nil {
		lims[0] = sub.limiter
	}
	if ep := c.endpoint(); ep != nil {
		lims[1] = ep.limiter
	}
	return lims
}

// wakeLocked makes Run look for due deliveries again after wait (a throttled delivery may go then),
// unless it wakes sooner already.
func (d *Deliverer) wakeLocked(wait time.Duration) {
	if at := time.Now().Add(wait); d.wakeAt.IsZero() || at.Before(d.wakeAt) {
		d.wakeAt = at
	}
}

// burstOf is the burst of a per-second throttle: one second's worth, at least 1, so a rate of 5
// never sends more than 5 in any second after an idle spell.
func burstOf(perSecond float64) int {
	return max(1, int(perSecond))
}
