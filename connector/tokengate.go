package connector

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// BudgetUnverified is the instance-wide budget of calls for tokens HipChat has not yet accepted:
// without it, anyone could make the connector call HipChat once for every token they invent.
const BudgetUnverified Budget = "unverified_tokens"

// Defaults of the token gate (ClientOptions).
const (
	// DefaultUnverifiedPerSecond and DefaultUnverifiedBurst bound the HipChat calls of tokens the
	// connector has not seen HipChat accept, across every such token: 20 at once (a team's flows
	// connecting together), then one every 2 s, so a spray of invented tokens costs HipChat at most
	// 50 calls in its first minute and 30 in each after.
	DefaultUnverifiedPerSecond = 0.5
	DefaultUnverifiedBurst     = 20
	// DefaultRejectedFor is how long a token HipChat rejected (401) is answered 401 without asking
	// HipChat again.
	DefaultRejectedFor = 5 * time.Minute
	// maxGateEntries bounds each of the gate's two sets; past it, the oldest entries are forgotten
	// first (a forgotten verified token is verified again; a forgotten rejected one is asked again).
	maxGateEntries = 100_000
)

// tokenGate is what the client knows of tokens beyond their budgets: those HipChat accepted
// (verified, by connection ID, a hash of the token) and those it rejected recently. A foreground
// call of a token HipChat rejected within rejectedFor is refused without a call; one of a token
// never seen accepted passes an instance-wide rate (unverified) first. Background calls (the
// poller's, with tokens a subscription stored) pass untouched. Safe for concurrent use.
type tokenGate struct {
	unverified  *rate.Limiter
	rejectedFor time.Duration
	now         func() time.Time

	mu       sync.Mutex
	verified map[string]time.Time // connection ID → when HipChat last accepted it
	rejected map[string]time.Time // connection ID → until when it is answered 401 here
	fresh    []string             // verified since the last remembered() call, for the store
}

func newTokenGate(perSecond float64, burst int, rejectedFor time.Duration, now func() time.Time) *tokenGate {
	if perSecond <= 0 {
		perSecond = DefaultUnverifiedPerSecond
	}
	if burst <= 0 {
		burst = DefaultUnverifiedBurst
	}
	if rejectedFor <= 0 {
		rejectedFor = DefaultRejectedFor
	}
	return &tokenGate{unverified: rate.NewLimiter(rate.Limit(perSecond), burst), rejectedFor: rejectedFor, now: now,
		verified: map[string]time.Time{}, rejected: map[string]time.Time{}}
}

// admit decides whether a call of connection id may go to HipChat: a *Error of KindTokenRejected
// (Local) while HipChat's recent 401 stands, one of KindRateLimited with BudgetUnverified when the
// token is not verified and the instance's budget for such tokens is spent, else nil.
func (g *tokenGate) admit(id string, class Class) *Error {
	if class == Background {
		return nil
	}
	now := g.now()
	g.mu.Lock()
	until, rejected := g.rejected[id]
	if rejected && !now.Before(until) {
		delete(g.rejected, id)
		rejected = false
	}
	_, verified := g.verified[id]
	g.mu.Unlock()
	switch {
	case rejected:
		return &Error{Kind: KindTokenRejected, Local: true,
			Message: "HipChat rejected this token within the last " + g.rejectedFor.String() + "; the connector does not ask again before then"}
	case verified:
		return nil
	}
	r := g.unverified.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return &Error{Kind: KindRateLimited, Local: true, Budget: BudgetUnverified, RetryAfter: wait,
			Message: "too many calls for tokens HipChat has not yet accepted here; a token HipChat accepts once is not held back again"}
	}
	return nil
}

// accepted records that HipChat answered a call of connection id with a success.
func (g *tokenGate) accepted(id string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.rejected, id)
	if _, ok := g.verified[id]; !ok {
		if len(g.verified) >= maxGateEntries {
			dropOldest(g.verified)
		}
		g.fresh = append(g.fresh, id)
	}
	g.verified[id] = now
}

// rejectedNow records that HipChat answered a call of connection id with 401.
func (g *tokenGate) rejectedNow(id string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.verified, id)
	if _, ok := g.rejected[id]; !ok && len(g.rejected) >= maxGateEntries {
		dropOldest(g.rejected)
	}
	g.rejected[id] = now.Add(g.rejectedFor)
}

// remembered returns the connection IDs verified since its last call, for the store to keep.
func (g *tokenGate) remembered() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	fresh := g.fresh
	g.fresh = nil
	return fresh
}

// restoreKnown marks ids verified, as the store kept them.
func (g *tokenGate) restoreKnown(ids []string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		if len(g.verified) >= maxGateEntries {
			return
		}
		g.verified[id] = now
	}
}

// dropOldest forgets the entry with the earliest time (a linear pass; it runs only when a set is
// full, once per entry added past the bound).
func dropOldest(set map[string]time.Time) {
	var oldest string
	var at time.Time
	for id, t := range set {
		if oldest == "" || t.Before(at) {
			oldest, at = id, t
		}
	}
	delete(set, oldest)
}

// BudgetRejected labels, in the limiter's refusal metric, the calls refused because HipChat
// rejected their token moments ago.
const BudgetRejected Budget = "token_rejected"

// refusedBudget is the metric label of a call the gate refused.
func refusedBudget(e *Error) Budget {
	if e.Kind == KindTokenRejected {
		return BudgetRejected
	}
	return e.Budget
}
