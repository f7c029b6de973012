package connector

import (
	"context"
	"time"
)

// CallLimiter is the budget every upstream call passes: the process's own Limiter, or one that
// counts a connection's calls over several replicas together (cluster.SharedLimiter). Safe for
// concurrent use.
type CallLimiter interface {
	// Take takes one call of connection id for class, now, or takes nothing and says whose budget
	// refused it and when to try again. ctx bounds any round trip the limiter makes (a shared
	// budget asks its store); a limiter that cannot decide in time refuses.
	Take(ctx context.Context, id string, class Class) (Refusal, bool)
	// BlockUntil holds connection id back until t: HipChat said its own budget is spent.
	BlockUntil(id string, t time.Time)
	// ClassMax is the most calls of class in any window, the whole budget and the window.
	ClassMax(class Class) (classMax, limit int, window time.Duration)
}

// Take is Acquire; ctx is not needed, the log is in memory.
func (l *Limiter) Take(_ context.Context, id string, class Class) (Refusal, bool) {
	return l.Acquire(id, class)
}

// HeldBack reports whether connection id is held back now until HipChat's reset (BlockUntil), and
// for how long; it takes nothing from the budget.
func (l *Limiter) HeldBack(id string) (Refusal, bool) {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if log := l.conns[id]; log != nil {
		return log.heldBack(now)
	}
	return Refusal{}, false
}

// heldBack is the refusal of a call at now while the connection is held back until HipChat's reset
// (BlockUntil); false when it is not.
func (c *callLog) heldBack(now time.Time) (Refusal, bool) {
	if !now.Before(c.blockedUntil) {
		return Refusal{}, false
	}
	return Refusal{Budget: BudgetHipChat, RetryAfter: c.blockedUntil.Sub(now)}, true
}
