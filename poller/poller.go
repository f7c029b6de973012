package poller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Defaults of Options.
const (
	DefaultSchedule  = "@every 1m"
	DefaultReadLimit = 1000
	DefaultParallel  = 32
	// DefaultResync is how often the poller reads every subscription from the store again, beside
	// the changes it is told of (Changed): the safety net for changes made elsewhere.
	DefaultResync = 5 * time.Minute
	// DefaultPruneFirst is how soon after start the delivery log is first pruned: soon, so that a
	// process restarted often still prunes; not at once, so that it does not compete with the first
	// tick. DefaultPruneEvery is how often after that.
	DefaultPruneFirst = 30 * time.Second
	DefaultPruneEvery = time.Hour
)

// CatchUp bounds what one tick delivers after a downtime or a flood. The events it skips are passed
// by the cursor (never delivered); a log line says so, and the first event delivered after the cut
// carries a note (webhook.HeaderCatchUp). The zero value bounds nothing: every event is delivered,
// however late, as Logic Apps does after a flow is re-enabled.
type CatchUp struct {
	// MaxAge skips events older than this when the tick reads them (messages only: HipChat gives
	// rooms no creation date). 0: no bound.
	MaxAge time.Duration
	// MaxEvents delivers at most the newest this many events of a backlog per subscription, in
	// total: with it, a feed's read takes the whole backlog at once (rather than ReadLimit at a
	// time, over the next ticks) and the older events are skipped. 0: no bound.
	MaxEvents int
}

// Store is what the poller needs of the state; *bolt.Store is one.
type Store interface {
	// PolledSubscriptions returns every subscription to poll (active, or paused by a user: its
	// events are queued and wait), secrets in clear.
	PolledSubscriptions() ([]state.Subscription, error)
	// Subscription returns one subscription (state.ErrNotFound when it is gone): the poller reads
	// one again when told it changed.
	Subscription(id string) (state.Subscription, error)
	// CommitFeed advances cursors and queues events of one feed in one transaction.
	CommitFeed(advances []state.CursorAdvance) error
	// SetStatus suspends a subscription with a reason; state.ErrNotFound when it is gone.
	SetStatus(id string, status state.Status, reason string) error
	// Prune deletes finished deliveries past retention and returns how many.
	Prune(now time.Time) (int, error)
	// PendingCount is how many deliveries of a subscription are pending: the bounded outbox's
	// measure, asked when the poller's own reckoning reaches the bound (backlog.go).
	PendingCount(subID string) (int, error)
}

// Budgets tells what HipChat last said of a connection's own budget; *connector.Client is one.
type Budgets interface {
	HipChatBudget(connectionID string) (connector.HipChatBudget, bool)
}

// Options configure a Poller. Zero fields take the defaults named.
type Options struct {
	// Store holds subscriptions, cursors and the outbox. Required.
	Store Store
	// Source reads HipChat; a *connector.Client. Required. Calls are made with
	// connector.WithBackground, so they wait for the connection's budget instead of failing (and
	// give up at once when it returns only after the tick's slot).
	Source triggers.Source
	// Budgets, when set (the same *connector.Client), lets the poller plan each token's reads within
	// HipChat's own window (X-Ratelimit-*), not only the connector's.
	Budgets Budgets
	// Now is the clock of catch-up ages, reads and plans; nil means time.Now.
	Now func() time.Time
	// Schedule is the robfig/cron spec of ticks (DefaultSchedule), read in UTC.
	Schedule string
	// ReadLimit is the most history messages (or rooms) one feed read returns, 1 to 1000
	// (DefaultReadLimit); a bigger backlog drains over the next ticks, unless CatchUp.MaxEvents
	// bounds it.
	ReadLimit int
	// CatchUp bounds a flood; see CatchUp.
	CatchUp CatchUp
	// Parallel is how many connections are polled at once (DefaultParallel). The feeds of one
	// connection are read one after another: they share its budget.
	Parallel int
	// Resync is how often every subscription is read from the store again (DefaultResync).
	Resync time.Duration
	// MaxPending is the bounded outbox: a subscription with this many pending deliveries is held —
	// its cursor stops and nothing more is queued for it — until they drain (DefaultMaxPending).
	MaxPending int
	// PruneFirst is how long after Run starts the delivery log is first pruned (DefaultPruneFirst);
	// PruneEvery how often after that (DefaultPruneEvery).
	PruneFirst, PruneEvery time.Duration
	// After is Run's timer of prunes; nil means time.After. Tests inject one they fire.
	After func(time.Duration) <-chan time.Time
	// OnCommit is called after a commit queued deliveries (e.g. delivery.Deliverer.Nudge). Optional.
	OnCommit func()
	// Owns, when set, tells whether this replica owns the feed (connection id, room; "" for the
	// room list) when several replicas share the state (serve -etcd-endpoints): a tick polls, and a
	// doorbell reads, only the feeds it owns. Nil: every feed is this process's.
	Owns func(connectionID, room string) bool
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, when set, receives the poller's metrics.
	Registerer prometheus.Registerer
}

// Poller finds new events for callback subscriptions. It keeps the polled subscriptions in memory
// (read once, then as they change), groups them into feeds — (connection, room history) or
// (connection, room list) — and on each tick reads each feed once from the oldest cursor among its
// subscriptions, committing every subscription's new cursor and events of that feed in one
// transaction, so a crash at any instant loses nothing and advances no cursor past an event that
// is not in the outbox.
//
// Each connection is polled on its own: a connection that cannot finish in its slot (its budget,
// a slow HipChat) carries its unread feeds to its next turn without holding the tick, or the next
// one, for any other connection. A connection's reads are planned within its budgets — the
// connector's (75 background calls in any 61 s) and HipChat's own (75 % of X-Ratelimit-Limit per
// 5 minutes, the rest left to actions) — least recently read feeds first; when it watches more
// rooms than that keeps current at the schedule, Plan says so and how far behind its feeds run.
type Poller struct {
	store     Store
	src       triggers.Source
	budgets   Budgets
	now       func() time.Time
	schedule  string
	interval  time.Duration
	readLimit int
	catchUp   CatchUp
	parallel  int
	resync    time.Duration
	onCommit  func()

	maxPending             int
	pruneFirst, pruneEvery time.Duration
	after                  func(time.Duration) <-chan time.Time
	owns                   func(connectionID, room string) bool
	log                    *slog.Logger
	metrics                *metrics

	slots chan struct{}  // one per connection being polled
	kick  chan struct{}  // TickSoon: one more tick of Run, now
	runs  sync.WaitGroup // connections being polled, doorbell reads, registrations: for Run's shutdown

	mu       sync.Mutex
	set      watchedSet
	conns    map[string]*connState
	changed  map[string]bool // subscription ids to read again
	loadedAt time.Time       // when the whole set was last read; zero: never
	tickErrs []error         // the failures of the connections polled since Tick last returned
	push     pushState       // doorbells (EnablePush)
	stopping bool            // Run is waiting for runs: no new one may be added (a WaitGroup's rule)
}

// recordErr keeps a failure for Tick to return.
func (p *Poller) recordErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickErrs = append(p.tickErrs, err)
}

// New returns a Poller. Errors: a missing Store or Source, a Schedule robfig/cron cannot parse, a
// ReadLimit above 1000, a negative bound, or a Registerer that holds the poller's metrics already.
func New(opts Options) (*Poller, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("poller: a store is required")
	case opts.Source == nil:
		return nil, errors.New("poller: a HipChat source is required")
	case opts.ReadLimit < 0 || opts.ReadLimit > 1000:
		return nil, fmt.Errorf("poller: read limit %d is outside 1..1000", opts.ReadLimit)
	case opts.CatchUp.MaxAge < 0 || opts.CatchUp.MaxEvents < 0:
		return nil, errors.New("poller: catch-up bounds must not be negative")
	case opts.Parallel < 0 || opts.Resync < 0:
		return nil, errors.New("poller: parallel and resync must not be negative")
	case opts.MaxPending < 0 || opts.PruneFirst < 0 || opts.PruneEvery < 0:
		return nil, errors.New("poller: the outbox's bound and the prune intervals must not be negative")
	}
	opts.Schedule = cmp.Or(opts.Schedule, DefaultSchedule)
	schedule, err := parseSchedule(opts.Schedule)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.ReadLimit = cmp.Or(opts.ReadLimit, DefaultReadLimit)
	opts.Parallel = cmp.Or(opts.Parallel, DefaultParallel)
	opts.Resync = cmp.Or(opts.Resync, DefaultResync)
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	opts.MaxPending = cmp.Or(opts.MaxPending, DefaultMaxPending)
	opts.PruneFirst = cmp.Or(opts.PruneFirst, DefaultPruneFirst)
	opts.PruneEvery = cmp.Or(opts.PruneEvery, DefaultPruneEvery)
	if opts.After == nil {
		opts.After = time.After
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	p := &Poller{
		store: opts.Store, src: opts.Source, budgets: opts.Budgets, now: opts.Now, schedule: opts.Schedule,
		interval: intervalOf(schedule), readLimit: opts.ReadLimit, catchUp: opts.CatchUp, parallel: opts.Parallel,
		resync: opts.Resync, onCommit: opts.OnCommit, owns: opts.Owns, log: opts.Logger, metrics: m,
		slots: make(chan struct{}, opts.Parallel), kick: make(chan struct{}, 1), conns: map[string]*connState{}, changed: map[string]bool{},
		maxPending: opts.MaxPending, pruneFirst: opts.PruneFirst, pruneEvery: opts.PruneEvery, after: opts.After,
	}
	m.overBudget = p.tokensOverBudget
	m.pushFeeds = p.pushFeedsByState
	m.held = p.heldSubscriptions
	return p, nil
}

// ValidateSchedule reports whether spec is a robfig/cron schedule ("@every 1m", "*/5 * * * *").
func ValidateSchedule(spec string) error {
	_, err := parseSchedule(spec)
	return err
}

func parseSchedule(spec string) (cron.Schedule, error) {
	schedule, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("poller: poll schedule %q: %w", spec, err)
	}
	return schedule, nil
}

// ScheduleInterval is the time between two ticks of the robfig/cron spec (as the poller plans with
// it). Errors: a spec that does not parse.
func ScheduleInterval(spec string) (time.Duration, error) {
	schedule, err := parseSchedule(spec)
	if err != nil {
		return 0, err
	}
	return intervalOf(schedule), nil
}

// intervalOf is the time between two ticks of schedule (from a fixed instant: a cron spec's
// intervals may vary, and this is what plans and slots use).
func intervalOf(schedule cron.Schedule) time.Duration {
	t := schedule.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return schedule.Next(t).Sub(t)
}

// Run ticks on the schedule until ctx ends, in UTC, and prunes the delivery log PruneFirst after it
// starts and every PruneEvery after that; then it waits for the connections being polled (cancelled
// with ctx) and returns nil. A tick only starts the connections that are not still being polled and
// returns: no tick waits for, or is skipped because of, a slow connection.
func (p *Poller) Run(ctx context.Context) error {
	logger := cronLogger{p.log}
	c := cron.New(
		cron.WithLocation(time.UTC),
		cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)),
	)
	schedule, err := parseSchedule(p.schedule)
	if err != nil {
		return err
	}
	tick := func() {
		// Each connection polled by this tick gets until shortly before the next tick, so it is
		// free to be polled again then.
		now := time.Now()
		next := schedule.Next(now)
		slot := next.Sub(now) - min(time.Second, next.Sub(now)/10)
		tickCtx, cancel := context.WithTimeout(ctx, slot)
		done := p.Start(tickCtx)
		go func() {
			<-done
			cancel()
		}()
	}
	c.Schedule(schedule, cron.FuncJob(tick))
	c.Start()
	p.runs.Add(1)
	go func() {
		defer p.runs.Done()
		p.prunes(ctx)
	}()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-p.kick:
			tick()
		}
	}
	<-c.Stop().Done()
	// A doorbell forwarded by another replica or a subscription changed through etcd may still
	// arrive: from now on they start nothing, so that Wait sees every run that was added.
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.runs.Wait()
	return nil
}

// Tick polls every feed once, as a tick of Run does, and waits until every connection it started
// is done. It keeps going past a failing or panicking feed and returns the failures joined (each
// also logged); a HipChat 401 suspends every subscription of that connection with a visible reason
// instead of trying again next tick (resume says the token works again). A connection still being
// polled from before is left to finish (deferred, reason busy); one whose plan leaves feeds for
// later defers them (reason budget); when ctx ends, the feeds not yet read wait for the next tick
// (reason deadline). Tests call Tick; Run calls the same code without waiting.
func (p *Poller) Tick(ctx context.Context) error {
	<-p.Start(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errors.Join(p.tickErrs...)
	p.tickErrs = nil
	return err
}

// Start begins one tick, as Run's schedule does: it brings the subscription set up to date and
// starts each connection not still being polled (the others are deferred, reason busy), and returns
// at once, with a channel closed when every connection it started is done. A connection polled by
// an earlier tick that has not finished is left to finish: it never holds up this tick.
func (p *Poller) Start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	started := p.now()
	groups, err := p.refresh(started)
	if err != nil {
		p.log.Error("reading the subscriptions to poll failed", "err", err)
		p.recordErr(fmt.Errorf("poller: %w", err))
		close(done)
		return done
	}
	p.mu.Lock()
	groups = append(groups[:len(groups):len(groups)], p.pushOrphansLocked(groups)...) // never into the cached grouping
	p.mu.Unlock()
	var claimed []claimedConnection
	for _, cf := range groups {
		if cf = p.owned(cf); cf == nil {
			continue // another replica polls this connection's feeds
		}
		st := p.claim(cf)
		if st == nil {
			p.metrics.deferred(reasonBusy, len(cf.feeds))
			continue
		}
		claimed = append(claimed, claimedConnection{cf, st})
	}
	p.runs.Add(len(claimed))
	go func() {
		p.pollClaimed(ctx, claimed)
		p.metrics.tickDuration.Observe(p.now().Sub(started).Seconds())
		close(done)
	}()
	return done
}

// claimedConnection is a connection a tick claimed (claim) and will poll.
type claimedConnection struct {
	feeds *connectionFeeds
	state *connState
}

// pollClaimed polls the claimed connections, each as soon as one of the poller's slots is free, and
// returns when all are done. At most Parallel workers take the connections in turn, each holding a
// slot while it polls one, so a tick of 5,000 connections runs at most Parallel goroutines, not
// 5,000 parked ones whose stacks every garbage collection would scan, nor a new goroutine (and its
// stack's growth) per connection. Each connection's run was added to p.runs by Start.
func (p *Poller) pollClaimed(ctx context.Context, claimed []claimedConnection) {
	var tick sync.WaitGroup
	var next atomic.Int64
	for range min(cap(p.slots), len(claimed)) {
		tick.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(claimed) {
					return
				}
				p.slots <- struct{}{}
				p.pollConnection(ctx, claimed[i].feeds, claimed[i].state)
				<-p.slots
				p.runs.Done()
			}
		})
	}
	tick.Wait()
}

// prunes prunes the delivery log PruneFirst from now, then every PruneEvery, until ctx ends.
func (p *Poller) prunes(ctx context.Context) {
	wait := p.pruneFirst
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.after(wait):
		}
		p.Prune()
		wait = p.pruneEvery
	}
}

// Prune deletes finished deliveries beyond the store's retention (bolt.Store.Prune) and logs how
// many; a failure is logged and tried again at the next prune.
func (p *Poller) Prune() {
	n, err := p.store.Prune(p.now())
	if err != nil {
		p.log.Error("pruning the delivery log failed", "err", err, "pruned", n)
		return
	}
	if n > 0 {
		p.log.Info("pruned the delivery log", "deliveries", n)
	}
}

// pollFeed reads one feed and commits what it found, turning a panic into an error; it returns how
// many new items it found: events queued, and messages a subscription's filter left out.
func (p *Poller) pollFeed(ctx context.Context, conn connector.Connection, f *feed) (found int, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("reading a feed panicked", "connection", conn, "feed", f.String(), "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	bg := connector.WithBackground(ctx)
	if f.room == "" {
		return p.pollRooms(bg, conn, f)
	}
	return p.pollMessages(bg, conn, f)
}

// commit writes one feed's advances in one transaction, then moves the subscriptions' cursors in
// memory, and nudges delivery when events were queued; it returns how many.
func (p *Poller) commit(advances []advance) (int, error) {
	if len(advances) == 0 {
		return 0, nil
	}
	queued := 0
	batch := make([]state.CursorAdvance, len(advances))
	for i, adv := range advances {
		batch[i] = adv.stored
		queued += len(adv.stored.Events)
	}
	if err := p.store.CommitFeed(batch); err != nil {
		return 0, err
	}
	p.mu.Lock()
	for _, adv := range advances {
		adv.apply()
	}
	p.mu.Unlock()
	for _, adv := range advances {
		p.metrics.filteredOut(adv.kind, adv.filtered)
	}
	p.metrics.itemsFound.Add(float64(queued))
	if queued > 0 && p.onCommit != nil {
		p.onCommit()
	}
	return queued, nil
}

// cronLogger writes robfig/cron's log through slog: its routine chatter at debug level.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.log.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error("cron: "+msg, append(keysAndValues, "err", err)...)
}
