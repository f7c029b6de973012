package cluster

import (
	"sync"
	"time"
)

// trackerStale is how long a key the tracker was not asked about counts as owned: the feeds of
// deleted subscriptions drop out of the count.
const trackerStale = 10 * time.Minute

// Tracker wraps an ownership rule (Member.Owns) and remembers its last answer per key, for the
// metrics: how many keys it owns, and how often a key's answer changed (an ownership move, gained
// or lost). Safe for concurrent use.
type Tracker struct {
	owns  func(string) bool
	now   func() time.Time
	mu    sync.Mutex
	last  map[string]tracked
	moves uint64
}

type tracked struct {
	owned bool
	at    time.Time
}

// NewTracker tracks the answers of owns.
func NewTracker(owns func(string) bool) *Tracker {
	return &Tracker{owns: owns, now: time.Now, last: map[string]tracked{}}
}

// Owns answers as the wrapped rule and records the answer.
func (t *Tracker) Owns(key string) bool {
	owned := t.owns(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.last[key]; ok && prev.owned != owned {
		t.moves++
	}
	t.last[key] = tracked{owned: owned, at: t.now()}
	return owned
}

// Owned is how many keys the last answers say are owned (keys not asked about for a while
// excluded, and forgotten).
func (t *Tracker) Owned() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, n := t.now(), 0
	for key, e := range t.last {
		if now.Sub(e.at) > trackerStale {
			delete(t.last, key)
			continue
		}
		if e.owned {
			n++
		}
	}
	return n
}

// Moves is how many times a key's answer changed.
func (t *Tracker) Moves() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.moves
}
