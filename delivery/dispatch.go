package delivery

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// subscriptionState is what dispatch keeps of a subscription between attempts: what never changes
// after it is created (endpoint, ordering, rate), and its attempts in flight.
type subscriptionState struct {
	endpoint string
	fifo     bool
	limiter  *rate.Limiter // nil: no maxPerSecond of its own
	inflight int
	usedAt   time.Time // dropped when unused for subscriptionStateTTL
}

// subscriptionStateTTL is how long dispatch remembers a subscription it no longer sees.
const subscriptionStateTTL = 10 * time.Minute

// dispatch reads what is due and starts an attempt for each delivery that may go now, while slots
// are free, and returns how many it started. A delivery is passed over (and found again by a later
// dispatch) when it is in flight, when it finished after the snapshot that lists it was taken (so
// a delivered event is never POSTed twice), when its subscription or endpoint has as many attempts
// in flight as allowed, when its endpoint's circuit holds it, or when a throttle says wait.
func (d *Deliverer) dispatch(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	d.mu.Lock()
	free := d.concurrency - len(d.inflight)
	d.snapshots++
	snapshot := d.snapshots
	d.mu.Unlock()
	if free <= 0 {
		return 0, nil
	}
	now := d.now()
	due, err := d.store.DueDeliveries(now, 4*d.concurrency, d.held(now))
	if err != nil {
		return 0, err
	}

	started := 0
	d.mu.Lock()
	defer d.mu.Unlock()
	for key, finishedAt := range d.recent {
		if finishedAt < snapshot {
			delete(d.recent, key) // this snapshot began after it finished: its view is fresh
		}
	}
	for _, del := range due {
		if len(d.inflight) >= d.concurrency {
			break
		}
		key := deliveryKey{del.SubscriptionID, del.Seq}
		if d.inflight[key] {
			continue
		}
		if _, stale := d.recent[key]; stale {
			continue
		}
		sub := d.subscriptionLocked(del.SubscriptionID, now)
		if sub == nil {
			continue
		}
		if (sub.fifo && sub.inflight > 0) || sub.inflight >= d.perSubscription {
			continue
		}
		ep := d.endpointLocked(sub.endpoint)
		probe := false
		if ep.state.Open() {
			if ep.probing || now.Before(ep.state.NextProbeAt) {
				continue // held while the circuit is open
			}
			probe = true
		}
		if ep.inflight >= d.perEndpoint {
			continue
		}
		if !d.admitLocked(sub, ep, now) {
			continue
		}
		d.inflight[key] = true
		sub.inflight++
		ep.inflight++
		ep.probing = probe
		started++
		d.wg.Add(1)
		go d.run(ctx, del, sub, ep, probe)
	}
	d.forgetIdleLocked(now)
	return started, nil
}

// run makes one attempt and releases what dispatch reserved for it.
func (d *Deliverer) run(ctx context.Context, del state.Delivery, sub *subscriptionState, ep *endpointState, probe bool) {
	key := deliveryKey{del.SubscriptionID, del.Seq}
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("delivery attempt panicked", "subscription", del.SubscriptionID, "delivery", del.ID, "panic", r)
		}
		d.mu.Lock()
		delete(d.inflight, key)
		d.recent[key] = d.snapshots
		sub.inflight--
		ep.inflight--
		if probe {
			ep.probing = false
		}
		d.mu.Unlock()
		d.wg.Done()
		d.Nudge()
	}()
	d.attempt(ctx, del, ep)
}

// held returns dispatch's skip function: the subscriptions whose endpoint's circuit holds their
// deliveries at now, so their records are not even read.
func (d *Deliverer) held(now time.Time) func(subID string) bool {
	return func(subID string) bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		sub := d.subs[subID]
		if sub == nil {
			return false
		}
		ep := d.endpoints[sub.endpoint]
		return ep != nil && ep.state.Open() && (ep.probing || now.Before(ep.state.NextProbeAt))
	}
}

// subscriptionLocked returns what dispatch keeps of subID, loading it on first use; nil when it
// cannot be loaded (deleted since the snapshot, or a storage failure, which is logged).
func (d *Deliverer) subscriptionLocked(subID string, now time.Time) *subscriptionState {
	if sub := d.subs[subID]; sub != nil {
		sub.usedAt = now
		return sub
	}
	loaded, err := d.store.Subscription(subID)
	if err != nil {
		d.log.Warn("loading a subscription for delivery failed", "subscription", subID, "err", err)
		return nil
	}
	sub := &subscriptionState{
		endpoint: webhook.EndpointOf(loaded.CallbackURL),
		fifo:     loaded.Ordering == state.OrderingFIFO,
		usedAt:   now,
	}
	if loaded.MaxPerSecond > 0 {
		sub.limiter = rate.NewLimiter(rate.Limit(loaded.MaxPerSecond), burstOf(loaded.MaxPerSecond))
	}
	d.subs[subID] = sub
	return sub
}

// forgetIdleLocked drops what dispatch keeps of subscriptions and endpoints unused for a while
// (deleted ones), so its memory follows the live set.
func (d *Deliverer) forgetIdleLocked(now time.Time) {
	if d.snapshots%256 != 0 {
		return
	}
	used := map[string]bool{}
	for id, sub := range d.subs {
		if sub.inflight == 0 && now.Sub(sub.usedAt) > subscriptionStateTTL {
			delete(d.subs, id)
			continue
		}
		used[sub.endpoint] = true
	}
	for key, ep := range d.endpoints {
		if !used[key] && ep.inflight == 0 && !ep.state.Open() {
			delete(d.endpoints, key)
		}
	}
}

// admitLocked asks the subscription's and the endpoint's throttles for one delivery at now; when
// either says wait, neither is spent and dispatch is woken when the wait is over.
func (d *Deliverer) admitLocked(sub *subscriptionState, ep *endpointState, now time.Time) bool {
	var reservations []*rate.Reservation
	var wait time.Duration
	for _, lim := range []*rate.Limiter{sub.limiter, ep.limiter} {
		if lim == nil {
			continue
		}
		r := lim.ReserveN(now, 1)
		reservations = append(reservations, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait == 0 {
		return true
	}
	for _, r := range reservations {
		r.CancelAt(now)
	}
	if at := time.Now().Add(wait); d.wakeAt.IsZero() || at.Before(d.wakeAt) {
		d.wakeAt = at
	}
	return false
}

// burstOf is the burst of a per-second throttle: one second's worth, at least 1, so a rate of 5
// never sends more than 5 in any second after an idle spell.
func burstOf(perSecond float64) int {
	return max(1, int(perSecond))
}
