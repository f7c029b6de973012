package bolt

import (
	"sync"

	bbolt "go.etcd.io/bbolt"
)

// PendingCount returns how many deliveries of subscription subID are pending (waiting for their
// first or next attempt): what the bounded outbox compares with its bound. A subscription without
// any, or one that does not exist, has 0. It reads a count kept in memory, no transaction.
//
// Errors: none today; the error is the contract every backend shares (etcd's reads can fail).
func (s *Store) PendingCount(subID string) (int, error) {
	return s.pending.count(subID), nil
}

// pendingCounts are the pending deliveries of each subscription, kept in memory: counted from the
// queued index when the file opens, then moved by each write transaction's changes once it
// commits. bbolt's file lock makes this process the file's only writer, so nothing else moves
// them; the queued index stays the truth, read again at every open.
type pendingCounts struct {
	mu    sync.Mutex
	bySub map[string]int
}

// countPending counts the queued index (every pending delivery, under its record key, whose tail is
// the subscription id).
func countPending(tx *bbolt.Tx) *pendingCounts {
	c := &pendingCounts{bySub: map[string]int{}}
	cur := tx.Bucket(bucketQueued).Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if _, _, subID, ok := parseDueKey(k); ok {
			c.bySub[subID]++
		}
	}
	return c
}

func (c *pendingCounts) count(subID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bySub[subID]
}

// track returns the recorder of write transaction tx's changes; they reach the counts when, and
// only if, tx commits.
func (c *pendingCounts) track(tx *bbolt.Tx) *pendingDelta {
	d := &pendingDelta{counts: c, bySub: map[string]int{}}
	tx.OnCommit(d.apply)
	return d
}

// pendingDelta is one write transaction's changes to the pending counts.
type pendingDelta struct {
	counts  *pendingCounts
	bySub   map[string]int
	dropped []string
}

// add counts n more (or, negative, fewer) pending deliveries of subID.
func (d *pendingDelta) add(subID string, n int) { d.bySub[subID] += n }

// drop forgets subID (deleted with its deliveries).
func (d *pendingDelta) drop(subID string) { d.dropped = append(d.dropped, subID) }

func (d *pendingDelta) apply() {
	c := d.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range d.dropped {
		delete(c.bySub, id)
	}
	for id, n := range d.bySub {
		if c.bySub[id] += n; c.bySub[id] <= 0 {
			delete(c.bySub, id)
		}
	}
}
