package connector

import (
	"context"
	"fmt"
	"time"
)

// BudgetFloodControl is HipChat's flood control of one room and sender (a 429 with
// X-FloodControl-Remaining: 0): it holds back that room's messages, not the whole connection.
const BudgetFloodControl Budget = "hipchat_flood_control"

// BudgetShared is the replicas' shared budget when this replica cannot reach it (etcd): the
// budget is counted over every replica together, and a replica that cannot count refuses rather
// than risk more than the limit.
const BudgetShared Budget = "shared_unavailable"

// String is the class as metrics label it: foreground or background.
func (c Class) String() string {
	if c == Background {
		return "background"
	}
	return "foreground"
}

// acquire takes one call from conn's budget for class. A background call waits (with the
// client's sleep) until the budget allows it; a foreground call over budget fails at once with a
// KindRateLimited *Error that says whose budget is spent (the connector's, or HipChat's own when
// its X-Ratelimit-Remaining said 0) and a RetryAfter consistent with it; so does a background
// call whose budget returns only after ctx's deadline (waiting could not help). Errors: that one,
// or ctx's error while a background call waits.
func (c *Client) acquire(ctx context.Context, conn Connection, class Class) error {
	sleep := c.sleep
	if sleep == nil {
		sleep = sleepContext
	}
	for {
		refusal, ok := c.limiter.Take(ctx, conn.ID, class)
		if ok {
			return nil
		}
		if class == Foreground {
			c.metrics.refused(class, refusal)
			return c.overBudget(class, refusal)
		}
		if deadline, has := ctx.Deadline(); has && time.Now().Add(refusal.RetryAfter).After(deadline) {
			// Waiting could not help: the budget returns only after the caller's deadline (a
			// poller's tick), and sleeping until then would hold the caller's slot for nothing.
			c.metrics.refused(class, refusal)
			e := c.overBudget(class, refusal)
			e.Message = "the connection's budget returns only after this read's deadline: " + e.Message
			return e
		}
		c.metrics.waited(class, refusal)
		if err := sleep(ctx, refusal.RetryAfter); err != nil {
			return err
		}
	}
}

// overBudget is the error of a call the limiter refused.
func (c *Client) overBudget(class Class, refusal Refusal) *Error {
	e := &Error{Kind: KindRateLimited, Local: true, RetryAfter: refusal.RetryAfter, Budget: refusal.Budget}
	if refusal.Budget == BudgetHipChat {
		e.Message = "HipChat's own rate limit for this token is spent (HipChat answered X-Ratelimit-Remaining: 0; " +
			"it counts every call the token makes, also outside the connector); the connector holds calls back until HipChat's reset"
		return e
	}
	if refusal.Budget == BudgetShared {
		e.Message = "this replica cannot reach the budget it shares with the other replicas (etcd), so it makes no HipChat call; try again shortly"
		return e
	}
	classMax, limit, window := c.limiter.ClassMax(class)
	e.Message = fmt.Sprintf("this connection has used the connector's budget of HipChat calls: at most %d in any %s, %d of them for actions and polling triggers",
		limit, promisedWindow(window), classMax)
	return e
}

// promisedWindow says the window of the budget as the README does: the seed's "60 s" for the
// limiter's 61 s, which counts WindowMargin more so that HipChat never sees more than the promise.
func promisedWindow(window time.Duration) string {
	if window > WindowMargin {
		window -= WindowMargin
	}
	if window%time.Second == 0 {
		return fmt.Sprintf("%d s", int64(window/time.Second))
	}
	return window.String()
}
