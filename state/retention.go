package state

import "time"

// Defaults of Retention's zero fields.
const (
	DefaultRetentionAge    = 7 * 24 * time.Hour
	DefaultRetentionPerSub = 1000
)

// Retention bounds the delivery log. Pending deliveries are never pruned.
type Retention struct {
	// MaxAge prunes finished (delivered or dead) deliveries that finished
	// longer ago than this. Zero means DefaultRetentionAge.
	MaxAge time.Duration
	// MaxPerSubscription keeps at most this many finished deliveries per
	// subscription, the newest. Zero means DefaultRetentionPerSub.
	MaxPerSubscription int
}

// WithDefaults is r with each field that is zero or negative set to its
// default: DefaultRetentionAge, DefaultRetentionPerSub.
func (r Retention) WithDefaults() Retention {
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultRetentionAge
	}
	if r.MaxPerSubscription <= 0 {
		r.MaxPerSubscription = DefaultRetentionPerSub
	}
	return r
}

// PendingStats is what the outbox holds, for metrics and operators.
type PendingStats struct {
	// Pending is the number of deliveries waiting for their first or next
	// attempt, across every subscription.
	Pending int
	// OldestQueuedAt is when the longest-waiting of them entered the queue;
	// zero when none waits.
	OldestQueuedAt time.Time
}
