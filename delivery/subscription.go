package delivery

import (
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
