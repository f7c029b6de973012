package delivery

import "time"

// Slow receivers are kept from holding what answering ones need. Every attempt takes a slot: a
// normal one, of the Concurrency that dispatch fills, or one of the slow pool, of SlowInFlight.
// An attempt whose answer (its first byte: the status line) has not come within SlowAfter moves
// from its normal slot to the slow pool, freeing the normal slot at once, and marks its endpoint
// slow; a slow endpoint's next attempts start in the slow pool, and wait while it is full. So
// however many endpoints hang, they hold at most SlowInFlight attempts between them, and the
// normal slots stay for the receivers that answer.
//
// Each endpoint also has a limit on its attempts in flight: 1 until it first answers, one more for
// each answer within SlowAfter up to PerEndpoint, halved (at least 1) when it turns slow. A new
// receiver that hangs holds one slot for SlowAfter, not PerEndpoint of them for the whole timeout.
//
// And each connection may have only PerConnectionUnproven attempts in flight to endpoints not
// known to answer quickly (unproven.go), so that its many new URLs that hang each hold a normal
// slot for SlowAfter, and then the slow pool, a few at a time, not all at once.

// DefaultSlowAfter is how long an attempt may wait for its answer before its endpoint counts as
// slow (Options.SlowAfter).
const DefaultSlowAfter = time.Second

// slot is one attempt's place in the deliverer's bounds. Its fields are guarded by d.mu.
type slot struct {
	d          *Deliverer
	ep         *endpointState
	connection string
	started    time.Time
	slow       bool // counted in d.slowInFlight, not d.posting
	unproven   bool // counted in d.unproven[connection] (unproven.go)
	done       bool // the attempt ended
	timer      *time.Timer
}

// occupyLocked takes the slot of an attempt of connection to ep: in the slow pool when ep is
// slow, else a normal slot that moves to the slow pool when no answer comes within slowAfter; and
// counts it against the connection's bound when ep is not known to answer quickly.
func (d *Deliverer) occupyLocked(ep *endpointState, connection string) *slot {
	s := &slot{d: d, ep: ep, connection: connection, started: time.Now()}
	if !ep.quick {
		s.countUnprovenLocked()
	}
	if ep.slow {
		s.slow = true
		d.slowInFlight++
		return s
	}
	d.posting++
	s.timer = time.AfterFunc(d.slowAfter, s.stall)
	return s
}

// stall moves a normal slot whose attempt still waits for its answer to the slow pool, marks its
// endpoint slow, counts the attempt against its connection's bound (if it was not yet), and wakes
// dispatch for the normal slot it frees. It moves even when the slow pool, or the connection's
// bound, is full: kept in its normal slot it would hold what answering receivers need, and cut
// short it may have reached the receiver all the same and would be sent again, recorded as failed
// or not. What is full then starts nothing more until it has room.
func (s *slot) stall() {
	d := s.d
	d.mu.Lock()
	if s.done || s.slow {
		d.mu.Unlock()
		return
	}
	s.slow = true
	d.posting--
	d.slowInFlight++
	if !s.unproven {
		s.countUnprovenLocked()
	}
	s.ep.turnSlow()
	d.mu.Unlock()
	d.metrics.stalled.Inc()
	d.wake()
}

// answered is called when the attempt's answer began to arrive: quick, the endpoint may have one
// more attempt in flight; slow, it turns slow (once per attempt).
func (s *slot) answered() {
	took := time.Since(s.started)
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case took < d.slowAfter:
		s.ep.slow, s.ep.quick = false, true
		s.ep.limit = min(d.perEndpoint, s.ep.limit+1)
	case !s.slow:
		s.ep.turnSlow() // answered after slowAfter, before the timer moved it
	default:
		s.ep.slow, s.ep.quick = true, false
	}
}

// releaseLocked gives the slot back when its attempt ended, answered or not.
func (s *slot) releaseLocked() {
	s.done = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.slow {
		s.d.slowInFlight--
	} else {
		s.d.posting--
	}
	if s.unproven {
		s.uncountUnprovenLocked()
	}
}

// turnSlow marks the endpoint slow, no longer known to answer quickly, and halves the attempts it
// may have in flight.
func (ep *endpointState) turnSlow() {
	ep.slow, ep.quick = true, false
	ep.limit = max(1, ep.limit/2)
}

// slowPool refuses a delivery to a slow endpoint while the slow pool is full (counting, at
// listing, what the listing let through to slow endpoints).
type slowPool struct{ d *Deliverer }

func (slowPool) name() string { return refusedSlowPoolFull }

func (g slowPool) admit(c *candidate) bool {
	ep := c.endpoint()
	return ep == nil || !ep.slow || g.d.slowInFlight+c.listed.toSlowEndpoints() < g.d.slowMax
}

// slowEndpoints counts the endpoints marked slow, and slowAttempts the attempts in the slow pool.
func (d *Deliverer) slowEndpoints() (endpoints, attempts int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range d.endpoints {
		if ep.slow {
			endpoints++
		}
	}
	return endpoints, d.slowInFlight
}
