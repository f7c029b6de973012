package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

func (d *testDB) due(limit int) []state.Delivery {
	d.t.Helper()
	due, err := d.DueDeliveries(d.clock.Now(), limit, nil)
	require.NoError(d.t, err)
	return due
}

func TestDueDeliveriesReturnsOnlyTheHeadOfEachFIFOQueue(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	d.subscribe("s2")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{
		{SubscriptionID: "s1", Events: events("a", 3)},
		{SubscriptionID: "s2", Events: events("b", 2)},
	}))

	due := d.due(0)
	assert.ElementsMatch(t, []string{"a1", "b1"}, eventIDs(due))

	// s1's head fails and waits a minute: a2 must wait behind it.
	s1 := due[0]
	if s1.SubscriptionID != "s1" {
		s1 = due[1]
	}
	retry := d.clock.Now().Add(time.Minute)
	require.NoError(t, d.RecordAttempt("s1", s1.Seq, state.Attempt{StatusCode: 503}, state.RetryAt(retry)))
	assert.Equal(t, []string{"b1"}, eventIDs(d.due(0)), "a2 does not overtake a1")

	d.clock.Advance(time.Minute)
	due = d.due(0)
	assert.ElementsMatch(t, []string{"a1", "b1"}, eventIDs(due))

	require.NoError(t, d.RecordAttempt("s1", s1.Seq, state.Attempt{StatusCode: 200}, state.Delivered()))
	assert.ElementsMatch(t, []string{"a2", "b1"}, eventIDs(d.due(0)))

	// Dead-lettering moves the queue on too.
	require.NoError(t, d.RecordAttempt("s1", s1.Seq+1, state.Attempt{StatusCode: 500}, state.Dead()))
	assert.ElementsMatch(t, []string{"a3", "b1"}, eventIDs(d.due(0)))
}

func TestDueDeliveriesSkipsInactiveAndHonoursLimit(t *testing.T) {
	d := newTestDB(t)
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("s%d", i)
		d.subscribe(id)
		require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events(id+"-e", 2)}}))
		d.clock.Advance(time.Second) // s1 has waited longest
	}
	require.NoError(t, d.SetStatus("s2", state.StatusPaused, "401"))

	tests := []struct {
		limit int
		want  []string
	}{
		{0, []string{"s1-e1", "s3-e1", "s4-e1"}},
		{2, []string{"s1-e1", "s3-e1"}},
		{1, []string{"s1-e1"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
			assert.Equal(t, tt.want, eventIDs(d.due(tt.limit)))
		})
	}

	require.NoError(t, d.SetStatus("s2", state.StatusActive, ""))
	assert.Equal(t, []string{"s1-e1", "s2-e1", "s3-e1", "s4-e1"}, eventIDs(d.due(0)), "resumed where it stopped")
}

// DueDeliveries must not get slower as history grows: the pending index
// holds only what is pending, whatever the size of the delivered log.
// (BenchmarkDueDeliveries measures the cost.)
func TestDueDeliveriesIgnoresDeliveredHistory(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	const history = 3000
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("old", history)}}))
	markDelivered(t, d, "s1", history)
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("new", 2)}}))

	due := d.due(0)
	require.Len(t, due, 1)
	assert.Equal(t, "new1", due[0].EventID)
	assert.Equal(t, uint64(history+1), due[0].Seq)

	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 2, pendingOf(tx, "s1"),
			"the pending index holds the 2 pending deliveries only")
		return nil
	}))
}

// markDelivered records a 200 for the first n pending deliveries of subID,
// in one transaction (a test shortcut for n RecordAttempt calls).
func markDelivered(t testing.TB, d *testDB, subID string, n int) {
	t.Helper()
	now := d.clock.Now()
	require.NoError(t, d.db.Update(func(tx *bbolt.Tx) error {
		log := openSubLog(tx, subID)
		pending := d.pending.track(tx)
		for seq := uint64(1); seq <= uint64(n); seq++ {
			rec, queued, err := log.get(seq)
			if err != nil {
				return err
			}
			rec.Status, rec.DeliveredAt = state.DeliveryDelivered, now
			rec.Attempts = append(rec.Attempts, state.Attempt{At: now, StatusCode: 200})
			if err := log.put(seq, queued, rec); err != nil {
				return err
			}
			sub, err := getSubscription(tx, subID)
			if err != nil {
				return err
			}
			removed, err := unschedule(tx, sub, seq, queued)
			if err != nil {
				return err
			}
			if removed {
				pending.add(subID, -1)
			}
		}
		return nil
	}))
}

func TestRecordAttemptTransitions(t *testing.T) {
	retryAt := newClock().Now().Add(5 * time.Minute)
	tests := []struct {
		name       string
		attempt    state.Attempt
		outcome    state.Outcome
		wantStatus string
		wantDue    []string // after the attempt, at the same instant
		wantSub    state.Status
		check      func(t *testing.T, dl state.Delivery, h state.Health)
	}{
		{
			name: "delivered", attempt: state.Attempt{StatusCode: 200, Duration: 30 * time.Millisecond},
			outcome: state.Delivered(), wantStatus: state.DeliveryDelivered, wantDue: []string{"m2"}, wantSub: state.StatusActive,
			check: func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.False(t, dl.DeliveredAt.IsZero())
				assert.Equal(t, dl.DeliveredAt, h.LastDeliveredAt)
				assert.Zero(t, h.ConsecutiveFailures)
			},
		},
		{
			name: "retry", attempt: state.Attempt{StatusCode: 503, Error: "service unavailable"},
			outcome: state.RetryAt(retryAt), wantStatus: state.DeliveryPending, wantDue: nil, wantSub: state.StatusActive,
			check: func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, retryAt, dl.NextAttemptAt)
				assert.Equal(t, 1, h.ConsecutiveFailures)
				assert.Equal(t, "HTTP 503: service unavailable", h.LastFailure)
				assert.Zero(t, h.DeadLettered)
			},
		},
		{
			name: "dead", attempt: state.Attempt{Error: "dial tcp: connection refused"},
			outcome: state.Dead(), wantStatus: state.DeliveryDead, wantDue: []string{"m2"}, wantSub: state.StatusActive,
			check: func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, 1, h.DeadLettered)
				assert.Equal(t, "dial tcp: connection refused", h.LastFailure)
			},
		},
		{
			name: "gone", attempt: state.Attempt{StatusCode: 410},
			outcome: state.Disable("callback answered 410 Gone"), wantStatus: state.DeliveryDead, wantDue: nil, wantSub: state.StatusDisabled,
			check: func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, 1, h.DeadLettered)
				assert.Equal(t, "HTTP 410", h.LastFailure)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDB(t)
			d.subscribe("s1")
			require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 2)}}))
			head := d.due(0)[0]

			require.NoError(t, d.RecordAttempt("s1", head.Seq, tt.attempt, tt.outcome))

			d.reopen()
			dl, err := d.Delivery("s1", head.ID)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, dl.Status)
			require.Len(t, dl.Attempts, 1)
			assert.Equal(t, tt.attempt.StatusCode, dl.Attempts[0].StatusCode)
			assert.Equal(t, d.clock.Now(), dl.Attempts[0].At, "a zero At is stamped with the clock")
			assert.Equal(t, tt.wantDue, eventIDs(d.due(0)))
			sub, err := d.Subscription("s1")
			require.NoError(t, err)
			assert.Equal(t, tt.wantSub, sub.Status)
			tt.check(t, dl, sub.Health)

			if tt.wantStatus != state.DeliveryPending {
				err := d.RecordAttempt("s1", head.Seq, state.Attempt{StatusCode: 200}, state.Delivered())
				require.ErrorIs(t, err, state.ErrNotPending)
			}
		})
	}
}

func TestRecordAttemptErrors(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 1)}}))

	for name, bad := range map[string]state.Outcome{
		"zero":               {},
		"unknown status":     {Status: "lost"},
		"retry without time": {Status: state.DeliveryPending},
		"disable delivered":  {Status: state.DeliveryDelivered, DisableReason: "410"},
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, d.RecordAttempt("s1", 1, state.Attempt{}, bad), state.ErrInvalid)
		})
	}
	require.ErrorIs(t, d.RecordAttempt("s1", 99, state.Attempt{}, state.Delivered()), state.ErrNotFound)
	require.ErrorIs(t, d.RecordAttempt("nope", 1, state.Attempt{}, state.Delivered()), state.ErrNotFound)
}

func TestRecordAttemptKeepsTheNewestAttempts(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s1", Events: events("m", 1)}}))
	for i := 1; i <= state.MaxAttemptsKept+5; i++ {
		require.NoError(t, d.RecordAttempt("s1", 1, state.Attempt{StatusCode: 500 + i%2}, state.RetryAt(d.clock.Now())))
	}
	dl, err := d.Delivery("s1", state.DeliveryID("s1", "m1"))
	require.NoError(t, err)
	assert.Len(t, dl.Attempts, state.MaxAttemptsKept)
	sub, err := d.Subscription("s1")
	require.NoError(t, err)
	assert.Equal(t, state.MaxAttemptsKept+5, sub.Health.ConsecutiveFailures)
}

// pendingOf counts the pending deliveries of subID in the queued index.
func pendingOf(tx *bbolt.Tx, subID string) int {
	n := 0
	c := openSubLog(tx, subID).cursor()
	for seq, queued, ok := c.first(); ok; seq, queued, ok = c.next() {
		if _, pending := pendingAt(tx, subID, seq, queued); pending {
			n++
		}
	}
	return n
}
