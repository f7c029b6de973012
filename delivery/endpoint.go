package delivery

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// maxProbeDelay caps the wait between two probes of an open circuit.
const maxProbeDelay = 5 * time.Minute

// firstProbeDelay is the wait before the first probe; each failed probe doubles it.
const firstProbeDelay = 5 * time.Second

// endpointState is what the deliverer keeps of one callback endpoint: its circuit (state, as
// stored), its throttle and its attempts in flight.
type endpointState struct {
	state    state.Endpoint
	limiter  *rate.Limiter // nil: no -callback-rate
	inflight int
	probing  bool // the one probe of an open circuit is in flight
	// limit is how many attempts it may have in flight now (slow.go): 1 while it has not answered,
	// one more for each quick answer up to the deliverer's PerEndpoint, halved when it is slow.
	limit int
	// slow: its last answer came after SlowAfter, or an attempt has been in flight longer: its
	// attempts are held in the slow pool, whose size is bounded whatever the number of endpoints.
	slow bool
	// quick: its last answer came within SlowAfter, and no attempt has stalled since. An endpoint
	// that is not (new, or slow) is unproven: its attempts count against its connection's bound
	// (unproven.go).
	quick bool
}

// circuitHolds reports whether the endpoint's open circuit holds its deliveries at now: its probe
// is in flight or not yet due.
func (ep *endpointState) circuitHolds(now time.Time) bool {
	return ep.state.Open() && (ep.probing || now.Before(ep.state.NextProbeAt))
}

// endpointLocked returns the state of endpoint key, loading its stored circuit on first use.
func (d *Deliverer) endpointLocked(key string) *endpointState {
	if ep := d.endpoints[key]; ep != nil {
		return ep
	}
	ep := &endpointState{state: state.Endpoint{Key: key}, limit: 1}
	if stored, ok, err := d.store.Endpoint(key); err != nil {
		d.log.Warn("loading an endpoint's circuit failed; starting it closed", "endpoint", key, "err", err)
	} else if ok {
		ep.state = stored
	}
	if d.endpointRate > 0 {
		ep.limiter = rate.NewLimiter(rate.Limit(d.endpointRate), burstOf(d.endpointRate))
	}
	d.endpoints[key] = ep
	return ep
}

// observe updates the endpoint's circuit after an attempt at at and returns the state to store
// with the attempt (nil when nothing worth storing changed), and whether the endpoint has failed
// for DisableAfter without a success. ok is a 2xx; gone a 410 (the endpoint answered: neither a
// success nor a failure of the endpoint).
func (d *Deliverer) observe(ep *endpointState, at time.Time, ok, gone bool, failure string) (*state.Endpoint, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &ep.state
	switch {
	case gone:
		return nil, false
	case ok:
		if s.ConsecutiveFailures == 0 && !s.Open() && !s.LastSuccessAt.IsZero() {
			s.LastSuccessAt = at // kept in memory; stored with the next change
			return nil, false
		}
		wasOpen := s.Open()
		*s = state.Endpoint{Key: s.Key, LastSuccessAt: at, LastFailureAt: s.LastFailureAt, LastError: s.LastError}
		if wasOpen {
			d.log.Info("callback endpoint answered again; its circuit is closed", "endpoint", s.Key)
		}
		saved := *s
		return &saved, false
	}
	s.ConsecutiveFailures++
	s.LastFailureAt, s.LastError = at, failure
	if s.FailingSince.IsZero() {
		s.FailingSince = at
	}
	switch {
	case s.Open():
		s.ProbeStep++
		s.NextProbeAt = at.Add(d.probeDelay(s.ProbeStep))
	case s.ConsecutiveFailures >= d.circuitFailures:
		s.OpenedAt, s.ProbeStep = at, 0
		s.NextProbeAt = at.Add(d.probeDelay(0))
		d.log.Warn("callback endpoint keeps failing; its circuit is open: deliveries are held, one probe at a time",
			"endpoint", s.Key, "consecutive_failures", s.ConsecutiveFailures, "next_probe_at", s.NextProbeAt)
	}
	saved := *s
	return &saved, at.Sub(s.FailingSince) >= d.disableAfter
}

// probeDelay is the wait before probe number step (0 for the first) of an open circuit.
func (d *Deliverer) probeDelay(step int) time.Duration {
	delay := firstProbeDelay << min(step, 16)
	return d.jitter(min(delay, maxProbeDelay))
}

// disableEndpoint disables the subscriptions of an endpoint that failed for DisableAfter.
func (d *Deliverer) disableEndpoint(ep *endpointState, at time.Time) {
	d.mu.Lock()
	key, since := ep.state.Key, ep.state.FailingSince
	d.mu.Unlock()
	reason := fmt.Sprintf("its callback endpoint %s has failed without a success since %s", key, since.UTC().Format(time.RFC3339))
	n, err := d.store.DisableEndpoint(key, reason)
	if err != nil {
		d.log.Error("disabling the subscriptions of a failing endpoint failed", "endpoint", key, "err", err)
		return
	}
	if n > 0 {
		d.log.Warn("callback endpoint failed for too long; its subscriptions are disabled", "endpoint", key,
			"subscriptions", n, "failing_since", since, "at", at)
	}
}

// openEndpoints counts the endpoints whose circuit is open.
func (d *Deliverer) openEndpoints() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, ep := range d.endpoints {
		if ep.state.Open() {
			n++
		}
	}
	return n
}
