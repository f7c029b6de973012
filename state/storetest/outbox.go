package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

func testDueFIFO(t *testing.T, d *env) {
	d.subscribe("a")
	d.subscribe("b")
	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("a", 3)})
	d.clock.Advance(time.Second)
	d.commit(state.CursorAdvance{SubscriptionID: "b", Events: events("b", 2)})
	assert.Equal(t, []string{"a1", "b1"}, d.due(0), "one head per FIFO queue, the longest-waiting first")

	require.NoError(t, d.record("a", d.seqOf("a", "a1"), state.Attempt{StatusCode: 500}, state.RetryAt(d.clock.Now().Add(time.Minute))))
	assert.Equal(t, []string{"b1"}, d.due(0), "a failing head holds up its queue")
	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"b1", "a1"}, d.due(0))
	require.NoError(t, d.record("a", d.seqOf("a", "a1"), state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.record("b", d.seqOf("b", "b1"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Equal(t, []string{"a2", "b2"}, d.due(0), "the next one becomes the head")
	due, err := d.DueDeliveries(d.clock.Now().Add(-time.Hour), 0, nil)
	require.NoError(t, err)
	assert.Empty(t, due, "nothing is due before its time")

	// A resend goes to the end of the queue.
	_, err = d.Resend("a", state.DeliveryID("a", "a1"))
	require.NoError(t, err)
	require.NoError(t, d.record("a", d.seqOf("a", "a2"), state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, d.record("a", d.seqOf("a", "a3"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Equal(t, []string{"b2", "a1"}, d.due(0), "b2 has waited longer than the resent a1")
}

func testDueBestEffort(t *testing.T, d *env) {
	d.subscribeWith("be", state.OrderingBestEffort)
	d.commit(state.CursorAdvance{SubscriptionID: "be", Events: events("e", 3)})
	assert.Equal(t, []string{"e1", "e2", "e3"}, d.due(0))
	require.NoError(t, d.record("be", d.seqOf("be", "e1"), state.Attempt{StatusCode: 400}, state.RetryAt(d.clock.Now().Add(time.Minute))))
	assert.Equal(t, []string{"e2", "e3"}, d.due(0), "a failing one delays none of the others")
	require.NoError(t, d.record("be", d.seqOf("be", "e2"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Equal(t, []string{"e3"}, d.due(0))
	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"e3", "e1"}, d.due(0))
	assert.Equal(t, []string{"e3"}, d.due(1))

	var skipped []uint64
	due, err := d.DueDeliveries(d.clock.Now(), 1, func(sub string, seq uint64) bool {
		if seq == d.seqOf("be", "e3") {
			skipped = append(skipped, seq)
			return true
		}
		return false
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"e1"}, eventIDs(due), "a skipped delivery does not count against the limit")
	assert.Len(t, skipped, 1)
}

func testDueInactiveAndLimit(t *testing.T, d *env) {
	for _, id := range []string{"s1", "s2", "s3"} {
		d.subscribe(id)
		d.commit(state.CursorAdvance{SubscriptionID: id, Events: events(id+"-", 2)})
		d.clock.Advance(time.Second)
	}
	require.NoError(t, d.SetStatus("s2", state.StatusPaused, "by a user"))
	assert.Equal(t, []string{"s1-1", "s3-1"}, d.due(0))
	assert.Equal(t, []string{"s1-1"}, d.due(1))
	require.NoError(t, d.SetStatus("s3", state.StatusSuspended, "401"))
	require.NoError(t, d.SetStatus("s2", state.StatusActive, ""))
	assert.Equal(t, []string{"s1-1", "s2-1"}, d.due(0), "resume delivers what was held")
}

// testDueSkipSeesOnlyActive: skip is asked only of deliveries the listing would return otherwise,
// never of a paused or suspended subscription's: the deliverer counts what skip lets through against
// its bounds, and a paused subscription's backlog must not use up its endpoint's room.
func testDueSkipSeesOnlyActive(t *testing.T, d *env) {
	for _, id := range []string{"active", "paused", "suspended"} {
		d.subscribeWith(id, state.OrderingBestEffort)
		d.commit(state.CursorAdvance{SubscriptionID: id, Events: events(id+"-", 2)})
	}
	require.NoError(t, d.SetStatus("paused", state.StatusPaused, "by a user"))
	require.NoError(t, d.SetStatus("suspended", state.StatusSuspended, "401"))
	asked := map[string]int{}
	due, err := d.DueDeliveries(d.clock.Now(), 0, func(sub string, _ uint64) bool {
		asked[sub]++
		return false
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"active-1", "active-2"}, eventIDs(due))
	assert.Equal(t, map[string]int{"active": 2}, asked)
}

func testRecordOutcomes(t *testing.T, d *env) {
	retryAt := d.clock.Now().Add(5 * time.Minute)
	for _, tt := range []struct {
		name       string
		attempt    state.Attempt
		outcome    state.Outcome
		wantStatus string
		wantDue    []string
		wantSub    state.Status
		check      func(t *testing.T, dl state.Delivery, h state.Health)
	}{
		{"delivered", state.Attempt{StatusCode: 200, Duration: 30 * time.Millisecond}, state.Delivered(),
			state.DeliveryDelivered, []string{"m2"}, state.StatusActive, func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, d.clock.Now(), dl.DeliveredAt)
				assert.Equal(t, dl.DeliveredAt, h.LastDeliveredAt)
				assert.Zero(t, h.ConsecutiveFailures)
				assert.Equal(t, 30*time.Millisecond, dl.Attempts[0].Duration)
			}},
		{"retry", state.Attempt{StatusCode: 503, Error: "service unavailable"}, state.RetryAt(retryAt),
			state.DeliveryPending, nil, state.StatusActive, func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, retryAt, dl.NextAttemptAt)
				assert.Equal(t, 1, dl.RoundAttempts)
				assert.Equal(t, 1, h.ConsecutiveFailures)
				assert.Equal(t, "HTTP 503: service unavailable", h.LastFailure)
				assert.Zero(t, h.DeadLettered)
			}},
		{"dead", state.Attempt{Error: "dial tcp: connection refused"}, state.Dead(),
			state.DeliveryDead, []string{"m2"}, state.StatusActive, func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, 1, h.DeadLettered)
				assert.Equal(t, "dial tcp: connection refused", h.LastFailure)
			}},
		{"gone", state.Attempt{StatusCode: 410}, state.Disable("callback answered 410 Gone"),
			state.DeliveryDead, nil, state.StatusDisabled, func(t *testing.T, dl state.Delivery, h state.Health) {
				assert.Equal(t, 1, h.DeadLettered)
				assert.Equal(t, "HTTP 410", h.LastFailure)
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "s-" + tt.name
			d.subscribe(id)
			d.commit(state.CursorAdvance{SubscriptionID: id, Events: events("m", 2)})
			head := d.seqOf(id, "m1")
			require.NoError(t, d.record(id, head, tt.attempt, tt.outcome))
			dl, err := d.Delivery(id, state.DeliveryID(id, "m1"))
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, dl.Status)
			require.Len(t, dl.Attempts, 1)
			assert.Equal(t, tt.attempt.StatusCode, dl.Attempts[0].StatusCode)
			assert.Equal(t, d.clock.Now(), dl.Attempts[0].At, "a zero At is stamped with the clock")
			due, err := d.DueDeliveries(d.clock.Now(), 0, func(sub string, _ uint64) bool { return sub != id })
			require.NoError(t, err)
			assert.Equal(t, tt.wantDue, eventIDs(due))
			sub, err := d.Subscription(id)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSub, sub.Status)
			tt.check(t, dl, sub.Health)
			if tt.wantStatus != state.DeliveryPending {
				assert.ErrorIs(t, d.record(id, head, state.Attempt{StatusCode: 200}, state.Delivered()), state.ErrNotPending)
			}
		})
	}
}

func testRecordErrors(t *testing.T, d *env) {
	d.subscribe("s1")
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("m", 1)})
	for name, bad := range map[string]state.Outcome{
		"zero":               {},
		"unknown status":     {Status: "lost"},
		"retry without time": {Status: state.DeliveryPending},
		"disable delivered":  {Status: state.DeliveryDelivered, DisableReason: "410"},
	} {
		assert.ErrorIs(t, d.record("s1", 1, state.Attempt{}, bad), state.ErrInvalid, name)
	}
	assert.ErrorIs(t, d.record("s1", 99, state.Attempt{}, state.Delivered()), state.ErrNotFound)
	assert.ErrorIs(t, d.record("nope", 1, state.Attempt{}, state.Delivered()), state.ErrNotFound)

	for i := 1; i <= state.MaxAttemptsKept+5; i++ {
		require.NoError(t, d.record("s1", 1, state.Attempt{StatusCode: 500 + i%2}, state.RetryAt(d.clock.Now())))
	}
	dl, err := d.Delivery("s1", state.DeliveryID("s1", "m1"))
	require.NoError(t, err)
	assert.Len(t, dl.Attempts, state.MaxAttemptsKept, "the newest attempts are kept")
	assert.Equal(t, state.MaxAttemptsKept+5, dl.RoundAttempts)
	sub, err := d.Subscription("s1")
	require.NoError(t, err)
	assert.Equal(t, state.MaxAttemptsKept+5, sub.Health.ConsecutiveFailures)
}

// testRecordGroup records more attempts at once than one etcd transaction
// holds, with errors among them: each record gets its own answer.
func testRecordGroup(t *testing.T, d *env) {
	const n = 40
	d.subscribeWith("g", state.OrderingBestEffort)
	d.commit(state.CursorAdvance{SubscriptionID: "g", Events: events("m", n)})
	var records []state.AttemptRecord
	for seq := uint64(1); seq <= n; seq++ {
		records = append(records, state.AttemptRecord{SubscriptionID: "g", Seq: seq,
			Attempt: state.Attempt{StatusCode: 204}, Outcome: state.Delivered()})
	}
	records = append(records,
		state.AttemptRecord{SubscriptionID: "g", Seq: 1, Attempt: state.Attempt{StatusCode: 204}, Outcome: state.Delivered()},
		state.AttemptRecord{SubscriptionID: "gone", Seq: 1, Outcome: state.Delivered()},
		state.AttemptRecord{SubscriptionID: "g", Seq: 2, Outcome: state.Outcome{}})
	errs := d.RecordAttempts(records)
	require.Len(t, errs, n+3)
	for i := range n {
		assert.NoError(t, errs[i], "record %d", i)
	}
	assert.ErrorIs(t, errs[n], state.ErrNotPending, "the same delivery twice in one group")
	assert.ErrorIs(t, errs[n+1], state.ErrNotFound)
	assert.ErrorIs(t, errs[n+2], state.ErrInvalid)
	assert.Empty(t, d.due(0))
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Zero(t, st.Pending)
}

// testLargePayloads queues, attempts, recovers and delivers a dozen events of
// 200 KiB each: more bytes together than one etcd request may carry.
func testLargePayloads(t *testing.T, d *env) {
	const n = 12
	d.subscribeWith("big", state.OrderingBestEffort)
	evs := events("m", n)
	for i := range evs {
		evs[i].Payload = []byte(fmt.Sprintf(`{"id":"m%d","text":"%s"}`, i+1, strings.Repeat("y", 200<<10)))
	}
	d.commit(state.CursorAdvance{SubscriptionID: "big", Cursor: []byte("c"), Events: evs})
	attempt := func(o state.Outcome) {
		var records []state.AttemptRecord
		for seq := uint64(1); seq <= n; seq++ {
			records = append(records, state.AttemptRecord{SubscriptionID: "big", Seq: seq, Attempt: state.Attempt{StatusCode: 503}, Outcome: o})
		}
		for i, err := range d.RecordAttempts(records) {
			require.NoError(t, err, "record %d", i)
		}
	}
	attempt(state.RetryAt(d.clock.Now().Add(time.Hour)))
	recovered, err := d.Recover("big", d.clock.Now().Add(-time.Minute))
	require.NoError(t, err)
	assert.Equal(t, n, recovered)
	due, err := d.DueDeliveries(d.clock.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, n)
	assert.Len(t, due[0].Payload, len(evs[0].Payload))
	attempt(state.Delivered())
	assert.Empty(t, d.due(0))
}

func testEndpoint(t *testing.T, d *env) {
	key := webhook.EndpointOf(validSubscription().CallbackURL) // s1's and s2's
	d.subscribe("s1")
	d.subscribe("s2")
	other := validSubscription()
	other.ID, other.CallbackURL = "elsewhere", "https://other.example/hook"
	_, err := d.CreateSubscription(other)
	require.NoError(t, err)
	_, found, err := d.Endpoint(key)
	require.NoError(t, err)
	assert.False(t, found)

	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("m", 1)})
	ep := state.Endpoint{Key: key, ConsecutiveFailures: 3, OpenedAt: d.clock.Now(), LastError: "HTTP 503"}
	out := state.RetryAt(d.clock.Now().Add(time.Minute))
	out.Endpoint = &ep
	require.NoError(t, d.record("s1", 1, state.Attempt{StatusCode: 503}, out))
	got, found, err := d.Endpoint(key)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, ep, got)
	assert.True(t, got.Open())

	require.NoError(t, d.SetStatus("s2", state.StatusPaused, "by a user"))
	n, err := d.DisableEndpoint(key, "failing for days")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the active and the paused subscription on the endpoint")
	for id, want := range map[string]state.Status{"s1": state.StatusDisabled, "s2": state.StatusDisabled, "elsewhere": state.StatusActive} {
		sub, err := d.Subscription(id)
		require.NoError(t, err)
		assert.Equal(t, want, sub.Status, id)
	}
	sub, err := d.Subscription("s1")
	require.NoError(t, err)
	assert.Equal(t, "failing for days", sub.StatusReason)
}
