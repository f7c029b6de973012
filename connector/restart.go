package connector

import (
	"encoding/json"
	"slices"
	"time"
)

// RestartState is what a Client keeps across a graceful restart of the process: each connection's
// calls still in the limiter's window, so that 100 calls in any 60 s holds over the restart as it
// does within one process. It is JSON, for the store to keep. (The tokens HipChat accepted are
// kept as they are accepted, crash or not: TokenMemory.)
type RestartState struct {
	SavedAt     time.Time                  `json:"saved_at"`
	Connections map[string]ConnectionCalls `json:"connections,omitempty"`
	// CrashedAt is the start after a crash (ResumeAfterCrash) when it is less than a window old:
	// the next process keeps assuming the background share spent then.
	CrashedAt time.Time `json:"crashed_at,omitzero"`
}

// ConnectionCalls is one connection's calls within the window, as Unix milliseconds, oldest first,
// and HipChat's hold on it.
type ConnectionCalls struct {
	Foreground   []int64   `json:"fg,omitempty"`
	Background   []int64   `json:"bg,omitempty"`
	BlockedUntil time.Time `json:"blocked_until,omitzero"`
}

// RestartState is the client's state to keep across a graceful restart: its limiter's windows,
// when the limiter is the process's own Limiter (replicas count in their shared store instead).
func (c *Client) RestartState() RestartState {
	s := RestartState{SavedAt: c.now().UTC()}
	if l, ok := c.limiter.(*Limiter); ok {
		s.Connections = l.windows()
		s.CrashedAt = l.crashedAt()
	}
	return s
}

// Resume takes up what a previous process left at a graceful stop (RestartState): the calls of
// its windows count against this process's budgets, and a crash it started after, less than a window
// before its stop, is still assumed (ResumeAfterCrash).
func (c *Client) Resume(s RestartState) {
	if l, ok := c.limiter.(*Limiter); ok {
		if !s.CrashedAt.IsZero() {
			l.assumeBackgroundSpent(s.CrashedAt)
		}
		l.restore(s.Connections)
	}
}

// ResumeAfterCrash takes up after a process that stopped without saving its state: its calls are
// unknown, so for one window from now each connection is taken to have spent its whole background
// share at the moment of the restart. The poller's reads of a connection wait out that window; its
// actions still answer from the share the background one leaves (25 of the default 100). Replicas
// (a shared budget) need none of this: their calls are counted in etcd.
func (c *Client) ResumeAfterCrash() {
	if l, ok := c.limiter.(*Limiter); ok {
		l.assumeBackgroundSpent(l.opts.Now())
	}
}

// windows returns each connection's calls still in the window and its hold.
func (l *Limiter) windows() map[string]ConnectionCalls {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]ConnectionCalls, len(l.conns))
	for id, log := range l.conns {
		log.dropBefore(now.Add(-l.opts.Window))
		var calls ConnectionCalls
		for _, c := range log.calls {
			if c.phantom {
				continue // assumed after a crash: nobody made it
			}
			if c.class == Background {
				calls.Background = append(calls.Background, c.at.UnixMilli())
			} else {
				calls.Foreground = append(calls.Foreground, c.at.UnixMilli())
			}
		}
		if log.blockedUntil.After(now) {
			calls.BlockedUntil = log.blockedUntil.UTC()
		}
		if len(calls.Foreground)+len(calls.Background) > 0 || !calls.BlockedUntil.IsZero() {
			out[id] = calls
		}
	}
	return out
}

// crashedAt is assumedSpentAt while it is less than a window old, else the zero time.
func (l *Limiter) crashedAt() time.Time {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.assumedSpentAt.IsZero() || !now.Before(l.assumedSpentAt.Add(l.opts.Window)) {
		return time.Time{}
	}
	return l.assumedSpentAt.UTC()
}

// restore adds a previous process's calls to the logs, in time order.
func (l *Limiter) restore(conns map[string]ConnectionCalls) {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, saved := range conns {
		log := l.logLocked(id, now)
		for _, ms := range saved.Foreground {
			log.calls = append(log.calls, call{at: time.UnixMilli(ms), class: Foreground})
		}
		for _, ms := range saved.Background {
			log.calls = append(log.calls, call{at: time.UnixMilli(ms), class: Background})
		}
		slices.SortStableFunc(log.calls, func(a, b call) int { return a.at.Compare(b.at) })
		log.dropBefore(now.Add(-l.opts.Window))
		if saved.BlockedUntil.After(log.blockedUntil) {
			log.blockedUntil = saved.BlockedUntil
		}
	}
}

// assumeBackgroundSpent makes every connection first seen within one window of at start with
// BackgroundMax background calls made at at.
func (l *Limiter) assumeBackgroundSpent(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.assumedSpentAt = at
	for _, log := range l.conns {
		log.assumeBackgroundSpent(at, l.opts.BackgroundMax)
	}
}

// logLocked returns the log of connection id, making it (with the calls assumed after a crash,
// within a window of it) when there is none.
func (l *Limiter) logLocked(id string, now time.Time) *callLog {
	log := l.conns[id]
	if log == nil {
		log = &callLog{lastUsed: now}
		if !l.assumedSpentAt.IsZero() && now.Before(l.assumedSpentAt.Add(l.opts.Window)) {
			log.assumeBackgroundSpent(l.assumedSpentAt, l.opts.BackgroundMax)
		}
		l.conns[id] = log
	}
	return log
}

// assumeBackgroundSpent puts n phantom background calls at at before the log's own calls.
func (c *callLog) assumeBackgroundSpent(at time.Time, n int) {
	phantoms := make([]call, n, n+len(c.calls))
	for i := range phantoms {
		phantoms[i] = call{at: at, class: Background, phantom: true}
	}
	c.calls = append(phantoms, c.calls...)
}

// RestartStore keeps a RestartState across a restart and tells a graceful stop from a crash (the
// bbolt store; with replicas the shared budget lives in etcd and there is none).
type RestartStore interface {
	// LoadRestartState returns what the last process saved at its graceful stop and clean = true,
	// or clean = false after a crash; then it marks the store running.
	LoadRestartState() (state []byte, clean bool, err error)
	// SaveRestartState keeps state as this process's graceful end.
	SaveRestartState(state []byte) error
}

// ResumeFrom takes up what store holds of the last process: its windows after a graceful stop
// (Resume), the worst case after a crash or when what was saved does not read (ResumeAfterCrash,
// and crashed = true). Errors: the store's.
func (c *Client) ResumeFrom(store RestartStore) (crashed bool, err error) {
	saved, clean, err := store.LoadRestartState()
	if err != nil {
		return false, err
	}
	var state RestartState
	if clean && (len(saved) == 0 || json.Unmarshal(saved, &state) == nil) {
		c.Resume(state)
		return false, nil
	}
	c.ResumeAfterCrash()
	return true, nil
}

// SaveTo keeps the client's RestartState in store for the next start; call it once every part has
// stopped calling HipChat. Errors: the store's.
func (c *Client) SaveTo(store RestartStore) error {
	state, err := json.Marshal(c.RestartState())
	if err != nil {
		return err
	}
	return store.SaveRestartState(state)
}
