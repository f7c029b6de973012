package poller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

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
)

// CatchUp bounds what one tick delivers after a downtime or a flood. The events it skips are passed
// by the cursor (never delivered); a log line says so, and the first event delivered after the cut
// carries a note (HeaderCatchUp). The zero value bounds nothing: every event is delivered, however
// late, as Logic Apps does after a flow is re-enabled.
type CatchUp struct {
	// MaxAge skips events older than this when the tick reads them (messages only: HipChat gives
	// rooms no creation date). 0: no bound.
	MaxAge time.Duration
	// MaxEvents delivers at most the newest this many events per subscription per tick; older ones
	// of the same read are skipped. 0: no bound.
	MaxEvents int
}

// Store is what the poller needs of the state; *state.Store is one.
type Store interface {
	// PolledSubscriptions returns every subscription to poll (active, or paused by a user: its
	// events are queued and wait), secrets in clear.
	PolledSubscriptions() ([]state.Subscription, error)
	// CommitFeed advances cursors and queues events of one feed in one transaction.
	CommitFeed(advances []state.CursorAdvance) error
	// SetStatus suspends a subscription with a reason; state.ErrNotFound when it is gone.
	SetStatus(id, status, reason string) error
	// Prune deletes finished deliveries past retention and returns how many.
	Prune(now time.Time) (int, error)
}

// Options configure a Poller. Zero fields take the defaults named.
type Options struct {
	// Store holds subscriptions, cursors and the outbox. Required.
	Store Store
	// Source reads HipChat; a *connector.Client. Required. Calls are made with
	// connector.WithBackground, so they wait for the connection's budget instead of failing.
	Source triggers.Source
	// Now is the clock of catch-up ages and pause reasons; nil means time.Now.
	Now func() time.Time
	// Schedule is the robfig/cron spec of ticks (DefaultSchedule), read in UTC.
	Schedule string
	// ReadLimit is the most history messages (or rooms) one feed read returns, 1 to 1000
	// (DefaultReadLimit); a bigger backlog drains over the next ticks.
	ReadLimit int
	// CatchUp bounds a flood; see CatchUp.
	CatchUp CatchUp
	// Parallel is how many connections are polled at once (DefaultParallel). The feeds of one
	// connection are read one after another: they share its budget. A connection waiting for budget
	// holds its slot, so this is well above the number of cores.
	Parallel int
	// OnCommit is called after a commit queued deliveries (e.g. delivery.Deliverer.Nudge). Optional.
	OnCommit func()
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Poller finds new events for callback subscriptions. Each tick it groups the active subscriptions
// into feeds — (connection, room history) or (connection, room list) — reads each feed once from the
// oldest cursor among its subscriptions, and commits every subscription's new cursor and events of
// that feed in one transaction, so a crash at any instant loses nothing and advances no cursor past
// an event that is not in the outbox.
type Poller struct {
	store     Store
	src       triggers.Source
	now       func() time.Time
	schedule  string
	readLimit int
	catchUp   CatchUp
	parallel  int
	onCommit  func()
	log       *slog.Logger

	// lastRead is when each feed (connection id + room) was last read successfully. A tick reads the
	// least recently read feeds first, so when a tick runs out of time (a connection whose budget
	// cannot cover all its feeds), the feeds left out go first the next time.
	mu       sync.Mutex
	lastRead map[[2]string]time.Time
}

// New returns a Poller. Errors: a missing Store or Source, a Schedule robfig/cron cannot parse, a
// ReadLimit above 1000, or a negative bound.
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
	case opts.Parallel < 0:
		return nil, errors.New("poller: parallel must not be negative")
	}
	opts.Schedule = cmp.Or(opts.Schedule, DefaultSchedule)
	if err := ValidateSchedule(opts.Schedule); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.ReadLimit = cmp.Or(opts.ReadLimit, DefaultReadLimit)
	opts.Parallel = cmp.Or(opts.Parallel, DefaultParallel)
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	return &Poller{
		store: opts.Store, src: opts.Source, now: opts.Now, schedule: opts.Schedule,
		readLimit: opts.ReadLimit, catchUp: opts.CatchUp, parallel: opts.Parallel,
		onCommit: opts.OnCommit, log: opts.Logger, lastRead: map[[2]string]time.Time{},
	}, nil
}

// ValidateSchedule reports whether spec is a robfig/cron schedule ("@every 1m", "*/5 * * * *").
func ValidateSchedule(spec string) error {
	if _, err := cron.ParseStandard(spec); err != nil {
		return fmt.Errorf("poller: poll schedule %q: %w", spec, err)
	}
	return nil
}

// pruneSchedule is how often the delivery log is pruned to the store's retention.
const pruneSchedule = "@every 1h"

// Run ticks on the schedule until ctx ends, in UTC, recovering a panicking tick and skipping a tick
// while the previous one still runs, and prunes the delivery log hourly; then it waits for the
// running tick (cancelled with ctx) and returns nil.
func (p *Poller) Run(ctx context.Context) error {
	logger := cronLogger{p.log}
	c := cron.New(
		cron.WithLocation(time.UTC),
		cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)),
	)
	schedule, err := cron.ParseStandard(p.schedule)
	if err != nil {
		return fmt.Errorf("poller: poll schedule %q: %w", p.schedule, err)
	}
	c.Schedule(schedule, cron.FuncJob(func() {
		// A tick gets one schedule interval: a connection that waits for budget longer than that must
		// not hold back every other connection's next tick (SkipIfStillRunning would skip it).
		now := time.Now()
		next := schedule.Next(now)
		tickCtx, cancel := context.WithDeadline(ctx, now.Add(schedule.Next(next).Sub(next)))
		defer cancel()
		_ = p.Tick(tickCtx)
	}))
	if _, err := c.AddFunc(pruneSchedule, p.Prune); err != nil {
		return fmt.Errorf("poller: prune schedule: %w", err)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}

// Tick polls every feed once, least recently read first. It keeps going past a failing or
// panicking feed and returns the failures joined (each also logged); a HipChat 401 suspends every
// subscription of that connection with a visible reason instead of trying again next tick (resume
// says the token works again). When ctx
// ends (Run gives each tick until the next one), the feeds not yet read wait for the next tick.
func (p *Poller) Tick(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("poll tick panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("poller: tick panicked: %v", r)
		}
	}()
	subs, err := p.store.PolledSubscriptions()
	if err != nil {
		p.log.Error("listing the subscriptions to poll failed", "err", err)
		return fmt.Errorf("poller: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, p.parallel)
	)
	for _, cf := range p.inReadOrder(groupFeeds(subs)) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if e := p.pollConnection(ctx, cf); len(e) > 0 {
				mu.Lock()
				errs = append(errs, e...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Prune deletes finished deliveries beyond the store's retention (state.Store.Prune) and logs how
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

// connectionFeeds are the feeds of one connection and every subscription they hold.
type connectionFeeds struct {
	conn  connector.Connection
	subs  []state.Subscription
	feeds []*feed
}

// feed is one upstream read: a room's history (room != "") or the room list (room == "").
type feed struct {
	room string
	subs []state.Subscription
}

func (f *feed) String() string {
	if f.room == "" {
		return "room list"
	}
	return "room " + f.room + " history"
}

// groupFeeds groups subscriptions by connection, then by feed, in a stable order.
func groupFeeds(subs []state.Subscription) []*connectionFeeds {
	byConn := map[string]*connectionFeeds{}
	byFeed := map[[2]string]*feed{}
	for _, sub := range subs {
		conn := connector.NewConnection(sub.Token, sub.HipChatURL)
		cf := byConn[conn.ID]
		if cf == nil {
			cf = &connectionFeeds{conn: conn}
			byConn[conn.ID] = cf
		}
		cf.subs = append(cf.subs, sub)
		room := sub.RoomID
		if !sub.Kind.Room() {
			room = ""
		}
		key := [2]string{conn.ID, room}
		f := byFeed[key]
		if f == nil {
			f = &feed{room: room}
			byFeed[key] = f
			cf.feeds = append(cf.feeds, f)
		}
		f.subs = append(f.subs, sub)
	}
	out := make([]*connectionFeeds, 0, len(byConn))
	for _, cf := range byConn {
		sort.Slice(cf.feeds, func(i, j int) bool { return cf.feeds[i].room < cf.feeds[j].room })
		out = append(out, cf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].conn.ID < out[j].conn.ID })
	return out
}

// pollConnection reads the feeds of one connection one after another.
func (p *Poller) pollConnection(ctx context.Context, cf *connectionFeeds) []error {
	var errs []error
	for _, f := range cf.feeds {
		if ctx.Err() != nil {
			return append(errs, ctx.Err())
		}
		err := p.pollFeed(ctx, cf.conn, f)
		if err == nil {
			p.mu.Lock()
			p.lastRead[[2]string{cf.conn.ID, f.room}] = p.now()
			p.mu.Unlock()
			continue
		}
		if connector.KindOf(err) == connector.KindTokenRejected {
			p.suspend(cf)
			return append(errs, fmt.Errorf("poller: %s of %s: %w", f, cf.conn.ID, err))
		}
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			p.log.Info("the tick ran out of time (the connection's budget is spent); the feed goes first next tick",
				"connection", cf.conn, "feed", f.String())
		case ctx.Err() == nil:
			p.log.Warn("reading a feed failed; trying again next tick", "connection", cf.conn, "feed", f.String(), "err", err)
		}
		errs = append(errs, fmt.Errorf("poller: %s of %s: %w", f, cf.conn.ID, err))
	}
	return errs
}

// inReadOrder sorts each connection's feeds, and the connections, so that what was read least
// recently (or never) comes first; ties keep their order.
func (p *Poller) inReadOrder(conns []*connectionFeeds) []*connectionFeeds {
	p.mu.Lock()
	defer p.mu.Unlock()
	current := map[[2]string]time.Time{} // forget feeds no subscription reads any more
	for _, cf := range conns {
		for _, f := range cf.feeds {
			key := [2]string{cf.conn.ID, f.room}
			current[key] = p.lastRead[key]
		}
	}
	p.lastRead = current
	oldest := make(map[*connectionFeeds]time.Time, len(conns))
	for _, cf := range conns {
		sort.SliceStable(cf.feeds, func(i, j int) bool {
			return p.lastRead[[2]string{cf.conn.ID, cf.feeds[i].room}].Before(p.lastRead[[2]string{cf.conn.ID, cf.feeds[j].room}])
		})
		if len(cf.feeds) > 0 {
			oldest[cf] = p.lastRead[[2]string{cf.conn.ID, cf.feeds[0].room}]
		}
	}
	sort.SliceStable(conns, func(i, j int) bool { return oldest[conns[i]].Before(oldest[conns[j]]) })
	return conns
}

// pollFeed reads one feed and commits what it found, turning a panic into an error.
func (p *Poller) pollFeed(ctx context.Context, conn connector.Connection, f *feed) (err error) {
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

// suspend suspends every subscription of a connection whose token HipChat rejected.
func (p *Poller) suspend(cf *connectionFeeds) {
	reason := fmt.Sprintf("HipChat rejected the token (401) at %s; resume the subscription once the token works again",
		p.now().UTC().Format(time.RFC3339))
	for _, sub := range cf.subs {
		if err := p.store.SetStatus(sub.ID, state.StatusSuspended, reason); err != nil && !errors.Is(err, state.ErrNotFound) {
			p.log.Error("suspending a subscription failed", "subscription", sub.ID, "err", err)
		}
	}
	p.log.Warn("HipChat rejected the token: the connection's subscriptions are suspended", "connection", cf.conn, "subscriptions", len(cf.subs))
}

// commit writes one feed's advances in one transaction and nudges delivery when events were queued.
func (p *Poller) commit(advances []state.CursorAdvance) error {
	if len(advances) == 0 {
		return nil
	}
	queued := 0
	for _, adv := range advances {
		queued += len(adv.Events)
	}
	if err := p.store.CommitFeed(advances); err != nil {
		return err
	}
	if queued > 0 && p.onCommit != nil {
		p.onCommit()
	}
	return nil
}

// cronLogger writes robfig/cron's log through slog: its routine chatter at debug level.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.log.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error("cron: "+msg, append(keysAndValues, "err", err)...)
}
