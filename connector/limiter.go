package connector

import (
	"context"
	"sync"
	"time"
)

// Class says who makes an upstream call: the two classes share a connection's budget, and each is
// capped below the whole so that neither can starve the other.
type Class int

const (
	// Foreground calls answer a caller now (actions, polling triggers): out of budget, they fail at once
	// with a RetryAfter.
	Foreground Class = iota
	// Background calls come from the poller: out of budget, they wait.
	Background
)

// LimiterOptions configures a Limiter. Zero fields take the defaults of DefaultLimiterOptions.
type LimiterOptions struct {
	// Limit is the most calls of one connection in any Window (seed: 100 per 60 s).
	Limit int
	// Window is the sliding window. The default is 61 s, WindowMargin more than the seed's 60 s,
	// so that network jitter between leaving here and arriving at HipChat cannot squeeze 101 calls
	// into 60 s as HipChat counts them.
	Window time.Duration
	// ForegroundMax and BackgroundMax cap each class within a window. With the defaults (90 and 75 of
	// 100) the poller always leaves actions at least 25 calls and actions always leave the poller 10.
	ForegroundMax int
	BackgroundMax int
	// IdleAfter drops the state of a connection that made no call for this long (at least Window), so
	// memory does not grow with every token ever seen.
	IdleAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// WindowMargin is how much longer than the window it promises the limiter counts calls over: the
// default Window of 61 s keeps the seed's 100 calls in any 60 s.
const WindowMargin = time.Second

// DefaultLimiterOptions returns the seed's budget: 100 calls per connection in any 60 s.
func DefaultLimiterOptions() LimiterOptions {
	return LimiterOptions{Limit: 100, Window: 60*time.Second + WindowMargin, ForegroundMax: 90, BackgroundMax: 75, IdleAfter: 5 * time.Minute}
}

// Limiter keeps a sliding-window log of each connection's upstream calls. Unlike a token bucket of
// 100/min with burst 100, which admits 200 calls within 60 s (a full bucket, then a refill), a log
// admits a call only when fewer than Limit calls happened in the Window before it, so no window of
// that length ever holds more than Limit calls. It also holds a connection back until HipChat's own
// rate-limit reset when HipChat says its budget is spent. Safe for concurrent use.
type Limiter struct {
	opts LimiterOptions

	mu        sync.Mutex
	conns     map[string]*callLog
	lastSweep time.Time
	// assumedSpentAt, when set, is the restart after a crash (ResumeAfterCrash): a connection
	// first seen within a window of it starts with its background share spent at that instant.
	assumedSpentAt time.Time
}

// callLog is one connection's calls within the window, oldest first.
type callLog struct {
	calls        []call
	blockedUntil time.Time // HipChat said: no calls before this instant
	lastUsed     time.Time
}

type call struct {
	at    time.Time
	class Class
	// phantom: not a call anyone made, but one assumed after a crash (ResumeAfterCrash).
	phantom bool
}

// NewLimiter returns a limiter; zero option fields take their defaults.
func NewLimiter(opts LimiterOptions) *Limiter {
	def := DefaultLimiterOptions()
	if opts.Limit <= 0 {
		opts.Limit = def.Limit
	}
	if opts.Window <= 0 {
		opts.Window = def.Window
	}
	if opts.ForegroundMax <= 0 || opts.ForegroundMax > opts.Limit {
		opts.ForegroundMax = opts.Limit * def.ForegroundMax / def.Limit
	}
	if opts.BackgroundMax <= 0 || opts.BackgroundMax > opts.Limit {
		opts.BackgroundMax = opts.Limit * def.BackgroundMax / def.Limit
	}
	if opts.IdleAfter < opts.Window {
		opts.IdleAfter = max(def.IdleAfter, opts.Window)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{opts: opts, conns: make(map[string]*callLog)}
}

// Budget names whose budget held a call back.
type Budget string

const (
	// BudgetConnector is the connector's own: at most Limit calls of a connection in any Window,
	// each class capped below that.
	BudgetConnector Budget = "connector"
	// BudgetHipChat is HipChat's own budget of the token: its X-Ratelimit-Remaining said 0, or it
	// answered 429, and the connector holds calls back until HipChat's reset.
	BudgetHipChat Budget = "hipchat"
)

// Refusal says why TryAcquire took nothing: whose budget is spent and how long until a call of
// that class can succeed.
type Refusal struct {
	Budget     Budget
	RetryAfter time.Duration
}

// TryAcquire takes one call from the budget of connection id for class, now. When the budget is
// spent it takes nothing and returns false and how long until a call of that class can succeed.
func (l *Limiter) TryAcquire(id string, class Class) (ok bool, retryAfter time.Duration) {
	refusal, ok := l.Acquire(id, class)
	return ok, refusal.RetryAfter
}

// Acquire is TryAcquire that also says whose budget refused the call: HipChat's while the
// connection is held back until HipChat's reset (BlockUntil), the connector's otherwise.
func (l *Limiter) Acquire(id string, class Class) (Refusal, bool) {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	log := l.logLocked(id, now)
	log.lastUsed = now
	if refusal, held := log.heldBack(now); held {
		return refusal, false
	}
	log.dropBefore(now.Add(-l.opts.Window))
	classMax := l.opts.ForegroundMax
	if class == Background {
		classMax = l.opts.BackgroundMax
	}
	// The oldest call whose leaving the window would make room: for the total, the Limit-th most
	// recent call; for the class, its classMax-th most recent call.
	// Every call still in the log is at most Window old, so a full log means no room yet.
	full := false
	var wait time.Duration
	if n := len(log.calls); n >= l.opts.Limit {
		full = true
		wait = max(wait, log.calls[n-l.opts.Limit].at.Add(l.opts.Window).Sub(now))
	}
	if at, ok := log.nthNewestOfClass(class, classMax); ok {
		full = true
		wait = max(wait, at.Add(l.opts.Window).Sub(now))
	}
	if full {
		// A call exactly Window after another still shares a closed window with it: one tick more.
		return Refusal{Budget: BudgetConnector, RetryAfter: wait + time.Millisecond}, false
	}
	log.calls = append(log.calls, call{at: now, class: class})
	return Refusal{}, true
}

// ClassMax is the most calls of class in any window (ForegroundMax or BackgroundMax), and Limit
// and Window the whole budget: what an answer over budget tells the caller.
func (l *Limiter) ClassMax(class Class) (classMax, limit int, window time.Duration) {
	if class == Background {
		return l.opts.BackgroundMax, l.opts.Limit, l.opts.Window
	}
	return l.opts.ForegroundMax, l.opts.Limit, l.opts.Window
}

// Wait takes one call from the budget, waiting (with sleep) as long as needed; it returns ctx's error
// if ctx ends first, and gives up at once, with a *Error of KindRateLimited (Local), when the budget
// returns only after ctx's deadline: waiting could not help. sleep is how the caller waits (nil: a
// real timer), so tests can drive it with an injected clock.
func (l *Limiter) Wait(ctx context.Context, id string, class Class, sleep func(context.Context, time.Duration) error) error {
	if sleep == nil {
		sleep = sleepContext
	}
	for {
		ok, retryAfter := l.TryAcquire(id, class)
		if ok {
			return nil
		}
		if deadline, has := ctx.Deadline(); has && time.Now().Add(retryAfter).After(deadline) {
			return &Error{Kind: KindRateLimited, Local: true, RetryAfter: retryAfter,
				Message: "the connection's budget returns only after this read's deadline"}
		}
		if err := sleep(ctx, retryAfter); err != nil {
			return err
		}
	}
}

// BlockUntil holds connection id back until t (HipChat's X-Ratelimit-Reset after its budget ran out,
// or after a 429). An earlier t than a block already in place changes nothing.
func (l *Limiter) BlockUntil(id string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	log := l.logLocked(id, l.opts.Now())
	if t.After(log.blockedUntil) {
		log.blockedUntil = t
	}
}

// Connections returns how many connections the limiter currently keeps state for.
func (l *Limiter) Connections() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// sweepLocked drops connections idle for IdleAfter, at most once per Window.
func (l *Limiter) sweepLocked(now time.Time) {
	if now.Sub(l.lastSweep) < l.opts.Window {
		return
	}
	l.lastSweep = now
	for id, log := range l.conns {
		if now.Sub(log.lastUsed) >= l.opts.IdleAfter && !now.Before(log.blockedUntil) {
			delete(l.conns, id)
		}
	}
}

// dropBefore forgets calls made before cutoff; they can no longer share a window with a new call.
func (c *callLog) dropBefore(cutoff time.Time) {
	i := 0
	for i < len(c.calls) && c.calls[i].at.Before(cutoff) {
		i++
	}
	if i > 0 {
		c.calls = append(c.calls[:0], c.calls[i:]...)
	}
}

// nthNewestOfClass returns the time of the n-th most recent call of class, if there are n of them.
func (c *callLog) nthNewestOfClass(class Class, n int) (time.Time, bool) {
	seen := 0
	for i := len(c.calls) - 1; i >= 0; i-- {
		if c.calls[i].class == class {
			seen++
			if seen == n {
				return c.calls[i].at, true
			}
		}
	}
	return time.Time{}, false
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
