package etcd

import (
	"time"
)

// DefaultCompactEvery is how often a store compacts etcd's history (Options.CompactEvery).
const DefaultCompactEvery = 30 * time.Second

// compactHistory compacts etcd's history every period until the store closes: each turn up to
// the newest revision the store had seen one turn earlier, so at least one period of history
// stays for a watch or pinned read that lags (each of them reads again when it falls behind).
//
// Why the store does it, not only Prune: every delivery deletes its ready/ entry, and etcd keeps a
// deleted key in its index until a compaction. A range over a subscription's ready/ entries from
// their start (a write's read of the first ones, to move the subscription's head) walks every entry
// deleted since the last compaction, so with Prune's hourly compaction alone a delivery's cost grew
// with the deliveries made since then. Another replica compacting too is harmless. A failed
// compaction (etcd unreachable) is tried again at the next turn; the store has no log, and nothing
// is lost but the space for a while.
func (s *Store) compactHistory(every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var previous int64
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-ticker.C:
		}
		previous = s.compactTurn(previous)
	}
}

// compactTurn compacts up to previous (when it is set) and returns the revision for the next
// turn: the newest this store has seen now.
func (s *Store) compactTurn(previous int64) int64 {
	if previous > 0 {
		_ = s.compact(previous)
	}
	return s.rev.Load()
}
