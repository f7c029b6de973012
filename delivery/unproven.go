package delivery

// One connection's many new callback URLs. An endpoint is proven once an answer came within
// SlowAfter (and until an attempt to it stalls); until then — new, or slow — nothing says how long
// its attempts will hold what they take. The endpoint's own limit (slow.go) keeps one such URL to
// one attempt, but a connection may subscribe any number of URLs: N that hang would take N normal
// slots for SlowAfter each, and then N places in the slow pool for the whole timeout, delaying every
// other connection's deliveries by about N/Concurrency seconds and filling the slow pool.
//
// So each connection may have at most PerConnectionUnproven attempts in flight to endpoints that
// are not proven: those that started while their endpoint was not, and those that stalled (moved
// to the slow pool). It is smaller than the slots and the slow pool alike, so it is also the
// connection's share of the slow pool: one connection's hanging URLs, however many, hold a few
// normal slots for SlowAfter and a few places in the slow pool, and wait their turn for more. A
// connection's attempts to endpoints that answered quickly are not counted, and a stall moves an
// attempt into the slow pool even when it, or its connection's bound, is full (slow.go: stall);
// the connection then starts nothing more to unproven endpoints until it is back within its bound.

// unprovenShareDivisor: PerConnectionUnproven defaults to 1/unprovenShareDivisor of the smaller of
// Concurrency and SlowInFlight (8 of 64), at least 1.
const unprovenShareDivisor = 8

// unprovenBound refuses a delivery to an endpoint not known to answer quickly (not kept yet, new or
// slow) while its connection has as many attempts counted against its bound in flight (and, at
// listing, let through) as it may: perConnection. A subscription not known yet (at listing) has no
// connection known, and is admitted; dispatch asks again once it has read it.
type unprovenBound struct {
	unproven      map[string]int // connection → its attempts counted against the bound (slot.unproven)
	perConnection int
}

func (unprovenBound) name() string { return refusedUnprovenBusy }

func (g unprovenBound) admit(c *candidate) bool {
	sub := c.subscription()
	if sub == nil {
		return true
	}
	if ep := c.endpoint(); ep != nil && ep.quick {
		return true
	}
	conn := sub.sub.ConnectionID
	return g.unproven[conn]+c.listed.unprovenOf(conn) < g.perConnection
}

// countUnprovenLocked counts the slot's attempt against its connection's bound.
func (s *slot) countUnprovenLocked() {
	s.unproven = true
	s.d.unproven[s.connection]++
}

// uncountUnprovenLocked takes the slot's attempt off its connection's count, forgetting a
// connection with none left so that the count follows the connections with attempts in flight.
func (s *slot) uncountUnprovenLocked() {
	s.unproven = false
	if s.d.unproven[s.connection]--; s.d.unproven[s.connection] <= 0 {
		delete(s.d.unproven, s.connection)
	}
}

// addUnproven counts a delivery of connection conn to an endpoint not known to answer quickly as
// let through by the listing.
func (l *listing) addUnproven(conn string) {
	if l.unproven == nil {
		l.unproven = map[string]int{}
	}
	l.unproven[conn]++
}

// unprovenOf is how many deliveries of connection conn to endpoints not known to answer quickly
// the listing let through; 0 for nil.
func (l *listing) unprovenOf(conn string) int {
	if l == nil {
		return 0
	}
	return l.unproven[conn]
}
