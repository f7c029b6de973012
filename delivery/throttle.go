package delivery

import (
	"time"

	"golang.org/x/time/rate"
)

// throttle refuses a delivery while its subscription's maxPerSecond or its endpoint's
// -callback-rate says wait. It reserves from both at once; when either says wait, neither is spent
// and wake is told how long (dispatch runs again then). It is the last gate: a delivery it admits
// starts, so what it spends is spent on an attempt.
type throttle struct{ wake func(wait time.Duration) }

func (throttle) name() string { return refusedThrottled }

func (g throttle) admit(c *candidate) bool {
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
