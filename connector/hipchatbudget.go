package connector

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// HipChatWindow is the length of HipChat's own rate-limit window: 100 calls per 5 minutes for a
// user or personal token, 500 for an add-on's (spec/hipchat-v2.md §1.5). Its headers give the limit,
// what remains and when the window resets, not its length.
const HipChatWindow = 5 * time.Minute

// HipChatBudget is what HipChat last said of a connection's own budget.
type HipChatBudget struct {
	Limit     int       // X-Ratelimit-Limit: calls per HipChatWindow
	Remaining int       // X-Ratelimit-Remaining after the last answer
	Reset     time.Time // X-Ratelimit-Reset: when the window starts over
	SeenAt    time.Time // when that answer arrived
}

// hipchatBudgets keeps the last HipChatBudget of each connection; bounded by the connections the
// limiter keeps (entries idle for an hour are dropped at the next observation).
type hipchatBudgets struct {
	mu        sync.Mutex
	byConn    map[string]HipChatBudget
	lastSweep time.Time
}

// spend counts one call about to leave for connection id against what HipChat last said remains,
// until its answer tells the real figure: so that several calls in flight at once all count.
func (b *hipchatBudgets) spend(connID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if seen, ok := b.byConn[connID]; ok && seen.Remaining > 0 {
		seen.Remaining--
		b.byConn[connID] = seen
	}
}

// observe records the X-Ratelimit-* headers of one answer, when they are there.
func (b *hipchatBudgets) observe(connID string, h http.Header, now time.Time, parseReset func(string) (time.Time, bool)) {
	limit, err := strconv.Atoi(h.Get("X-Ratelimit-Limit"))
	if err != nil || limit <= 0 {
		return
	}
	remaining, err := strconv.ParseFloat(h.Get("X-Ratelimit-Remaining"), 64)
	if err != nil {
		return
	}
	reset, _ := parseReset(h.Get("X-Ratelimit-Reset"))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byConn == nil {
		b.byConn = map[string]HipChatBudget{}
	}
	if now.Sub(b.lastSweep) > time.Hour {
		for id, seen := range b.byConn {
			if now.Sub(seen.SeenAt) > time.Hour {
				delete(b.byConn, id)
			}
		}
		b.lastSweep = now
	}
	b.byConn[connID] = HipChatBudget{Limit: limit, Remaining: int(remaining), Reset: reset, SeenAt: now}
}

// HipChatBudget returns what HipChat last said of connection id's budget; ok is false before any
// answer carried X-Ratelimit headers (HipChat Server installations may send none).
func (c *Client) HipChatBudget(id string) (HipChatBudget, bool) {
	c.budgets.mu.Lock()
	defer c.budgets.mu.Unlock()
	b, ok := c.budgets.byConn[id]
	return b, ok
}
