package poller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// The connector's background budget per connection (connector.DefaultLimiterOptions: 75 of the 100
// calls in any 61 s), and the share of HipChat's own window the poller plans to use, leaving the
// rest to actions.
const (
	backgroundCalls  = 75
	backgroundWindow = 61 * time.Second
	hipchatShare     = 0.75
)

// connState is what the poller keeps of a connection between ticks.
type connState struct {
	running  bool                  // being polled: a tick leaves it to finish
	lastRead map[feedKey]time.Time // when each feed was last read completely
	failing  map[feedKey]string    // the feeds whose reads fail, by the failure logged last
	plan     Plan
}

// Plan is how the poller reads one connection's feeds.
type Plan struct {
	// Feeds is how many feeds (rooms, and the room list) the connection's subscriptions watch.
	Feeds int
	// ReadsPerTick is how many of them one tick reads, within the connection's budgets.
	ReadsPerTick int
	// ExpectedLag is how long a new event may wait before a read sees it: one schedule interval
	// when every feed is read each tick, more when the budget spreads them over several.
	ExpectedLag time.Duration
	// OverBudget reports that the feeds need more reads per tick than the budgets allow.
	OverBudget bool
	// HipChatLimit is HipChat's own limit per 5 minutes as last seen (0: not seen).
	HipChatLimit int
}

// Plan returns the current plan of connection id; ok is false before its first tick.
func (p *Poller) Plan(connectionID string) (Plan, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.conns[connectionID]
	if st == nil || st.plan.Feeds == 0 {
		return Plan{}, false
	}
	return st.plan, true
}

// tokensOverBudget counts the connections whose plan cannot keep every feed current.
func (p *Poller) tokensOverBudget() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, st := range p.conns {
		if st.plan.OverBudget {
			n++
		}
	}
	return n
}

// claim marks cf's connection as being polled and returns its state; nil when it still is.
func (p *Poller) claim(cf *connectionFeeds) *connState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.conns[cf.conn.ID]
	if st == nil {
		st = &connState{lastRead: map[feedKey]time.Time{}, failing: map[feedKey]string{}}
		p.conns[cf.conn.ID] = st
	}
	if st.running {
		return nil
	}
	st.running = true
	return st
}

// planFor is the plan of a connection with feeds feeds due at now.
func (p *Poller) planFor(conn connector.Connection, feeds int) Plan {
	reads := int(float64(backgroundCalls) * p.interval.Seconds() / backgroundWindow.Seconds())
	plan := Plan{Feeds: feeds}
	if p.budgets != nil {
		if b, ok := p.budgets.HipChatBudget(conn.ID); ok {
			plan.HipChatLimit = b.Limit
			reads = min(reads, int(hipchatShare*float64(b.Limit)*p.interval.Seconds()/connector.HipChatWindow.Seconds()))
		}
	}
	plan.ReadsPerTick = max(1, reads)
	ticks := (feeds + plan.ReadsPerTick - 1) / plan.ReadsPerTick
	plan.OverBudget = ticks > 1
	plan.ExpectedLag = time.Duration(max(1, ticks)) * p.interval
	return plan
}

// pollConnection reads the feeds of one connection that its plan allows this tick, least recently
// read first, one after another (they share its budget), and defers the rest.
func (p *Poller) pollConnection(ctx context.Context, cf *connectionFeeds, st *connState) {
	defer func() {
		p.mu.Lock()
		st.running = false
		p.mu.Unlock()
	}()
	p.syncPush(ctx, cf)
	feeds, plan, wasOver := p.feedsToRead(cf, st)
	if plan.OverBudget && !wasOver {
		p.log.Warn("a token watches more rooms than its budget keeps current at this schedule; its feeds are read in turn",
			"connection", cf.conn, "feeds", plan.Feeds, "reads_per_tick", plan.ReadsPerTick, "expected_lag", plan.ExpectedLag.String())
	}
	for i, f := range feeds {
		if i == 1 {
			// The first answer told HipChat's own budget, if the plan did not know it yet.
			plan = p.replan(cf, st, plan)
		}
		if i >= plan.ReadsPerTick || p.actionsShareReached(cf.conn) {
			p.metrics.deferred(reasonBudget, len(feeds)-i)
			return
		}
		if ctx.Err() != nil {
			p.metrics.deferred(reasonDeadline, len(feeds)-i)
			return
		}
		if !p.readOne(ctx, cf, st, f, len(feeds)-i) {
			return
		}
	}
}

// feedsToRead plans cf's tick: the feeds to read, in order (those polled, then as many trusted
// feeds due a reconcile read as the plan leaves room for), the plan, and whether the previous
// plan was already over budget.
func (p *Poller) feedsToRead(cf *connectionFeeds, st *connState) ([]*feed, Plan, bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var feeds, reconcile []*feed
	// A feed whose doorbell read is waiting (doorbell.go: in a burst, until it is over) is left to
	// it; a tick reads it only once its poll turn is overdue, as polling would read it with every
	// feed of the connection polled.
	overdue := p.planFor(cf.conn, len(cf.feeds)).ExpectedLag
	// While the token's doorbells ring (a burst), its trusted feeds' reconcile reads wait: the burst's
	// doorbell reads are reading those feeds, and a reconcile read now would read one twice. A
	// reconcile read is due every Reconcile; one tick later costs nothing.
	bursting := p.burstingLocked(cf.conn.ID)
	for _, f := range cf.feeds {
		switch {
		case p.ringingLocked(f) && now.Sub(p.waitingSinceLocked(f, st)) < overdue:
		case !p.trustedLocked(f):
			feeds = append(feeds, f) // polled, or a doorbell rang and its read had to wait
		case !bursting && now.Sub(st.lastRead[f.key]) >= p.push.opts.Reconcile:
			reconcile = append(reconcile, f) // on trusted push: read only every Reconcile
		}
	}
	plan := p.planFor(cf.conn, len(feeds))
	plan.Feeds = len(cf.feeds)
	wasOver := st.plan.OverBudget
	st.plan = plan
	byLastRead := func(list []*feed) {
		if len(list) < 2 {
			return
		}
		// Each feed's last read is looked up once, not at every comparison.
		last := make([]time.Time, len(list))
		for i, f := range list {
			last[i] = st.lastRead[f.key]
		}
		sort.Stable(feedsByLastRead{list, last})
	}
	byLastRead(feeds)
	byLastRead(reconcile)
	// Reconcile reads of trusted feeds take at most a third of the tick's reads, the rest of the
	// budget left to doorbells: when there are more trusted feeds than that reconciles each
	// Reconcile, they are reconciled in turn, least recently read first.
	reconcile = reconcile[:min(len(reconcile), max(1, plan.ReadsPerTick/3))]
	if room := plan.ReadsPerTick - len(feeds); room > 0 {
		feeds = append(feeds, reconcile[:min(len(reconcile), room)]...)
	}
	return feeds, plan, wasOver
}

// readOne reads feed f of cf (unless a doorbell is reading it right now) and reports whether the
// connection's turn goes on: false after HipChat rejected the token (its subscriptions are
// suspended), after the budget ran out, or when the tick's time did; left counts the feeds of the
// turn not yet read, this one included, for the deferred metric.
func (p *Poller) readOne(ctx context.Context, cf *connectionFeeds, st *connState, f *feed, left int) bool {
	p.mu.Lock()
	lock := p.feedLockLocked(f)
	pf := p.push.byKey[f.key]
	p.mu.Unlock()
	if !lock.TryLock() {
		p.metrics.deferred(reasonBusy, 1) // a doorbell is reading it right now
		return true
	}
	p.readStarting(pf)
	found, err := p.pollFeed(ctx, cf.conn, f)
	lock.Unlock()
	if err == nil {
		if p.readFailing(st, f.key, "") {
			p.log.Info("a feed that failed reads again", "connection", cf.conn, "feed", f.String(), "subscriptions", f.subscriptionIDs())
		}
		p.afterRead(f.key, st, found, nil, false)
		p.metrics.feedsRead.Inc()
		return true
	}
	p.recordErr(fmt.Errorf("poller: %s of %s: %w", f, cf.conn.ID, err))
	var upstream *connector.Error
	switch {
	case connector.KindOf(err) == connector.KindTokenRejected:
		p.suspend(cf)
		return false
	case errors.As(err, &upstream) && upstream.Kind == connector.KindRateLimited:
		p.log.Info("the connection's budget is spent for this tick; its other feeds go first next tick",
			"connection", cf.conn, "feed", f.String(), "retry_after", upstream.RetryAfter.String())
		p.metrics.deferred(reasonBudget, left)
		return false
	case ctx.Err() != nil:
		p.log.Info("the tick ran out of time for this connection; its unread feeds go first next tick",
			"connection", cf.conn, "feed", f.String(), "unread", left)
		p.metrics.deferred(reasonDeadline, left)
		return false
	default:
		// Tried again each tick; logged when it starts failing, or fails otherwise, not each time.
		if p.readFailing(st, f.key, "kind "+string(connector.KindOf(err))) {
			p.log.Warn("reading a feed failed; trying again next tick",
				"connection", cf.conn, "feed", f.String(), "subscriptions", f.subscriptionIDs(), "err", err)
		}
		return true
	}
}

// readFailing records how feed key's last read went (failure: "" for a success) and reports
// whether that changed.
func (p *Poller) readFailing(st *connState, key feedKey, failure string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.failing[key] == failure {
		return false
	}
	if failure == "" {
		delete(st.failing, key)
	} else {
		st.failing[key] = failure
	}
	return true
}

// replan plans again once HipChat's budget is known (its first answer), keeping plan otherwise.
func (p *Poller) replan(cf *connectionFeeds, st *connState, plan Plan) Plan {
	if plan.HipChatLimit != 0 {
		return plan
	}
	fresh := p.planFor(cf.conn, len(cf.feeds))
	if fresh.HipChatLimit == 0 {
		return plan
	}
	p.mu.Lock()
	st.plan = fresh
	p.mu.Unlock()
	return fresh
}

// actionsShareReached reports whether HipChat's own budget for conn is down to the share the poller
// leaves to actions (25 % of its limit) until its window resets: reading on would eat into it.
func (p *Poller) actionsShareReached(conn connector.Connection) bool {
	if p.budgets == nil {
		return false
	}
	b, ok := p.budgets.HipChatBudget(conn.ID)
	if !ok || b.Reset.IsZero() || !p.now().Before(b.Reset) {
		return false
	}
	return float64(b.Remaining) <= (1-hipchatShare)*float64(b.Limit)
}

// suspend suspends every subscription of a connection whose token HipChat rejected, and stops
// polling them until they are resumed (Changed).
func (p *Poller) suspend(cf *connectionFeeds) {
	reason := fmt.Sprintf("HipChat rejected the token (401) at %s; resume the subscription once the token works again",
		p.now().UTC().Format(time.RFC3339))
	for _, w := range cf.subs {
		if err := p.store.SetStatus(w.sub.ID, state.StatusSuspended, reason); err != nil && !errors.Is(err, state.ErrNotFound) {
			p.log.Error("suspending a subscription failed", "subscription", w.sub.ID, "err", err)
		}
	}
	p.forget(cf)
	p.log.Warn("HipChat rejected the token: the connection's subscriptions are suspended", "connection", cf.conn, "subscriptions", len(cf.subs))
}

// Connections returns the ids of the connections the poller has a plan for (those it polled at
// least once) or push feeds of, in no order.
func (p *Poller) Connections() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	for id, st := range p.conns {
		if st.plan.Feeds > 0 {
			seen[id] = true
		}
	}
	for key := range p.push.byKey {
		seen[key.conn] = true
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	return ids
}

// feedsByLastRead sorts feeds by when each was last read (last, in the same order), least recently
// read first.
type feedsByLastRead struct {
	feeds []*feed
	last  []time.Time
}

func (s feedsByLastRead) Len() int           { return len(s.feeds) }
func (s feedsByLastRead) Less(i, j int) bool { return s.last[i].Before(s.last[j]) }
func (s feedsByLastRead) Swap(i, j int) {
	s.feeds[i], s.feeds[j] = s.feeds[j], s.feeds[i]
	s.last[i], s.last[j] = s.last[j], s.last[i]
}
