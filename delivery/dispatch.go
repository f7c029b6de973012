package delivery

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// subscriptionState is what dispatch keeps of a subscription between attempts: the subscription as
// last read (its callback URL and signing secrets: attempts read no store for them), what never
// changes after it is created (endpoint, ordering, rate), and its attempts in flight.
type subscriptionState struct {
	sub      state.Subscription
	loadedAt time.Time // wall clock; read again after subscriptionRefresh, or at once after Forget
	endpoint string
	fifo     bool
	limiter  *rate.Limiter // nil: no maxPerSecond of its own
	inflight int
	usedAt   time.Time // dropped when unused for subscriptionStateTTL
}

// room is how many of the subscription's attempts may be in flight at once: one when it is FIFO,
// perSubscription otherwise.
func (sub *subscriptionState) room(perSubscription int) int {
	if sub.fifo {
		return 1
	}
	return perSubscription
}

// subscriptionStateTTL is how long dispatch remembers a subscription it no longer sees.
const subscriptionStateTTL = 10 * time.Minute

// subscriptionRefresh is how long a subscription read from the store serves attempts before it is
// read again, so a change made elsewhere (another process) reaches attempts within it; a change
// made through this process's API reaches them at once (Forget).
const subscriptionRefresh = time.Second

// dispatchBatchDivisor: while attempts are in flight, dispatch waits until at least
// 1/dispatchBatchDivisor of the slots is free (8 of 64), so that one listing of what is due
// starts several attempts rather than one per finished POST. A listing costs a read
// transaction and a pass over every delivery in flight or waiting to be recorded, whatever it
// starts. A finished POST nudges Run, so the wait ends with the POST that frees the last slot
// needed.
const dispatchBatchDivisor = 8

// dispatch reads what is due and starts an attempt for each delivery that may go now, while slots
// are free (enough of them: dispatchBatchDivisor), and returns how many it started. A delivery is
// passed over (and found again by a later dispatch) when it is in flight, when it finished after
// the snapshot that lists it was taken (so a delivered event is never POSTed twice), when its
// subscription or endpoint has as many attempts in flight as allowed, when its endpoint's circuit
// holds it, or when a throttle says wait.
func (d *Deliverer) dispatch(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	d.mu.Lock()
	posting := d.posting
	free := d.concurrency - posting
	d.snapshots++
	snapshot := d.snapshots
	d.mu.Unlock()
	if free <= 0 || (free < d.concurrency/dispatchBatchDivisor && posting > 0) {
		return 0, nil
	}
	now := d.now()
	// Read twice the free slots: some of what is due may have to wait (bounds, throttles), and every
	// delivery read costs a read and a decode, whether it starts or not.
	due, err := d.store.DueDeliveries(now, 2*free, d.held(now, snapshot))
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
		if d.posting >= d.concurrency {
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
		if sub.inflight >= sub.room(d.perSubscription) {
			continue
		}
		ep := d.endpointLocked(sub.endpoint)
		if ep.circuitHolds(now) {
			continue
		}
		probe := ep.state.Open() // the one attempt of an open circuit whose probe is due
		if ep.inflight >= d.perEndpoint {
			continue
		}
		if !d.admitLocked(sub, ep, now) {
			continue
		}
		d.inflight[key] = true
		d.posting++
		sub.inflight++
		ep.inflight++
		ep.probing = probe
		started++
		d.wg.Add(1)
		go d.run(ctx, del, sub.sub, sub, ep, probe)
	}
	d.forgetIdleLocked(now)
	return started, nil
}

// run makes one attempt: it releases the POST's slot as soon as the answer is in, and hands the
// attempt to the group commit, which releases the delivery once it is recorded.
func (d *Deliverer) run(ctx context.Context, del state.Delivery, subscription state.Subscription, sub *subscriptionState, ep *endpointState, probe bool) {
	key := deliveryKey{del.SubscriptionID, del.Seq}
	var finished *finishedAttempt
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("delivery attempt panicked", "subscription", del.SubscriptionID, "delivery", del.ID, "panic", r)
			finished = nil
		}
		d.mu.Lock()
		d.posting--
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
		d.Nudge() // the POST's slot is free: the next attempts go while this one is recorded
		d.record(*finished)
	}()
	finished = d.attempt(ctx, del, subscription, ep)
}

// release ends a delivery's turn: it may be dispatched again by a snapshot taken from now on.
func (d *Deliverer) release(key deliveryKey) {
	d.mu.Lock()
	delete(d.inflight, key)
	d.recent[key] = d.snapshots
	d.mu.Unlock()
	d.wg.Done()
	d.Nudge()
}

// held returns dispatch's skip function: the deliveries of subscriptions another replica owns
// (Options.Owns), deliveries in flight or recorded after this snapshot began (snapshot), the
// subscriptions whose endpoint's circuit holds their deliveries at now, and every delivery beyond
// what its subscription's and endpoint's bounds on attempts in flight leave room for in this
// listing. The records of those are not even read, and the listing's limit is spent on deliveries
// that can start: a subscription with many due deliveries at its bound would otherwise fill it.
func (d *Deliverer) held(now time.Time, snapshot uint64) func(subID string, seq uint64) bool {
	listedBySub := map[string]int{}
	listedByEndpoint := map[string]int{}
	return func(subID string, seq uint64) bool {
		if d.owns != nil && !d.owns(subID) {
			return true
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		key := deliveryKey{subID, seq}
		if d.inflight[key] {
			return true
		}
		if at, ok := d.recent[key]; ok && at >= snapshot {
			return true
		}
		room, inflight := d.perSubscription, 0
		sub := d.subs[subID]
		if sub != nil {
			room, inflight = sub.room(d.perSubscription), sub.inflight
		}
		if inflight+listedBySub[subID] >= room {
			return true
		}
		if sub != nil {
			if ep := d.endpoints[sub.endpoint]; ep != nil {
				if ep.circuitHolds(now) {
					return true
				}
				if ep.inflight+listedByEndpoint[sub.endpoint] >= d.perEndpoint {
					return true
				}
			}
			listedByEndpoint[sub.endpoint]++
		}
		listedBySub[subID]++
		return false
	}
}

// subscriptionLocked returns what dispatch keeps of subID, reading it on first use and once it is
// older than subscriptionRefresh; nil when it cannot be read (deleted since the snapshot, or a
// storage failure, which is logged) or is no longer active.
func (d *Deliverer) subscriptionLocked(subID string, now time.Time) *subscriptionState {
	sub := d.subs[subID]
	if sub != nil && time.Since(sub.loadedAt) < subscriptionRefresh {
		sub.usedAt = now
		return sub
	}
	loaded, err := d.store.Subscription(subID)
	if err != nil {
		if sub != nil && sub.inflight == 0 {
			delete(d.subs, subID)
		}
		if !errors.Is(err, state.ErrNotFound) {
			d.log.Warn("loading a subscription for delivery failed", "subscription", subID, "err", err)
		}
		return nil
	}
	if sub != nil {
		sub.sub, sub.loadedAt, sub.usedAt = loaded, time.Now(), now
		if loaded.Status != state.StatusActive {
			return nil
		}
		return sub
	}
	sub = &subscriptionState{
		sub: loaded, loadedAt: time.Now(),
		endpoint: webhook.EndpointOf(loaded.CallbackURL),
		fifo:     loaded.Ordering == state.OrderingFIFO,
		usedAt:   now,
	}
	if loaded.MaxPerSecond > 0 {
		sub.limiter = rate.NewLimiter(rate.Limit(loaded.MaxPerSecond), burstOf(loaded.MaxPerSecond))
	}
	d.subs[subID] = sub
	if loaded.Status != state.StatusActive {
		return nil
	}
	return sub
}

// Forget makes the next attempt of subscription id read it from the store again: the API calls it
// after a change (pause, resume, rotated secret, delete) so attempts follow at once.
func (d *Deliverer) Forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sub := d.subs[id]; sub != nil {
		sub.loadedAt = time.Time{}
	}
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
