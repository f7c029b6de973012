package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// testPickDueOrder: what is due comes out in due order whatever its subscription — the earliest
// due time first, then the lowest seq — with a retried delivery placed at its new time, behind
// deliveries of other subscriptions queued after it first was.
func testPickDueOrder(t *testing.T, d *env) {
	for _, id := range []string{"a", "b", "c"} {
		d.subscribeWith(id, state.OrderingBestEffort)
	}
	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("a", 3)})
	d.clock.Advance(time.Second)
	d.commit(state.CursorAdvance{SubscriptionID: "b", Events: events("b", 2)})
	d.clock.Advance(time.Second)
	d.commit(state.CursorAdvance{SubscriptionID: "c", Events: events("c", 1)})
	d.clock.Advance(time.Second)
	d.commit(state.CursorAdvance{SubscriptionID: "a", Events: events("a-late", 1)})
	require.NoError(t, d.record("a", d.seqOf("a", "a2"), state.Attempt{StatusCode: 500}, state.RetryAt(d.clock.Now().Add(-time.Second/2))))
	assert.Equal(t, []string{"a1", "a3", "b1", "b2", "c1", "a2", "a-late1"}, d.due(0))
	assert.Equal(t, []string{"a1", "a3", "b1"}, d.due(3))

	var asked []string
	due, err := d.PickDue(d.clock.Now(), 0, state.PickFunc(func(sub string, seq uint64) state.Pick {
		asked = append(asked, fmt.Sprint(sub, seq))
		return state.Take
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"a1", "a3", "b1", "b2", "c1", "a2", "a-late1"}, eventIDs(due), "PickDue with Take is DueDeliveries")
	assert.Equal(t, []string{"a1", "a3", "b1", "b2", "c1", "a2", "a4"}, asked, "asked in order, each once")
}

// testPickDueSkipSubscription: SkipSubscription passes over every due delivery of the subscription
// in this listing without asking of them; Skip passes over one; neither counts against the limit.
// A subscription PickSubscription refuses is passed over before any of its deliveries is asked of.
func testPickDueSkipSubscription(t *testing.T, d *env) {
	for _, id := range []string{"full", "one", "rest"} {
		d.subscribeWith(id, state.OrderingBestEffort)
		d.commit(state.CursorAdvance{SubscriptionID: id, Events: events(id, 50)})
		d.clock.Advance(time.Millisecond)
	}
	asked := map[string]int{}
	due, err := d.PickDue(d.clock.Now(), 3, state.PickFunc(func(sub string, seq uint64) state.Pick {
		asked[sub]++
		switch {
		case sub == "full":
			return state.SkipSubscription
		case sub == "one" && seq == d.seqOf("one", "one1"):
			return state.Skip
		}
		return state.Take
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"one2", "one3", "one4"}, eventIDs(due))
	assert.Equal(t, map[string]int{"full": 1, "one": 4}, asked, "a subscription passed over is asked once, the listing stops at its limit")

	due, err = d.PickDue(d.clock.Now(), 0, state.PickFunc(func(sub string, seq uint64) state.Pick {
		if sub == "rest" {
			return state.Take
		}
		return state.SkipSubscription
	}))
	require.NoError(t, err)
	require.Len(t, due, 50)
	assert.Equal(t, "rest1", due[0].EventID)
	assert.Equal(t, "rest50", due[49].EventID)

	// PickSubscription comes first, once per subscription with work due, paused ones too: what it
	// refuses is never asked about delivery by delivery.
	require.NoError(t, d.SetStatus("one", state.StatusPaused, "by a user"))
	picker := &countingPicker{refuse: map[string]bool{"full": true}, subscriptions: map[string]int{}, deliveries: map[string]int{}}
	due, err = d.PickDue(d.clock.Now(), 0, picker)
	require.NoError(t, err)
	assert.Len(t, due, 50)
	assert.Equal(t, map[string]int{"full": 1, "one": 1, "rest": 1}, picker.subscriptions)
	assert.Equal(t, map[string]int{"rest": 50}, picker.deliveries, "neither the refused one's nor the paused one's")
}

// countingPicker refuses the subscriptions named, takes every delivery, and counts what it is asked.
type countingPicker struct {
	refuse        map[string]bool
	subscriptions map[string]int
	deliveries    map[string]int
}

func (p *countingPicker) PickSubscription(subID string) bool {
	p.subscriptions[subID]++
	return !p.refuse[subID]
}

func (p *countingPicker) PickDelivery(subID string, _ uint64) state.Pick {
	p.deliveries[subID]++
	return state.Take
}

// testPickDueAfterChanges: every change to what is due — queued, retried earlier or later,
// delivered, dead, recovered, resent, paused and resumed, deleted — shows in the next listing, by
// subscription as well as in all.
func testPickDueAfterChanges(t *testing.T, d *env) {
	d.subscribeWith("be", state.OrderingBestEffort)
	d.subscribe("fifo")
	d.commit(state.CursorAdvance{SubscriptionID: "be", Events: events("e", 4)})
	d.commit(state.CursorAdvance{SubscriptionID: "fifo", Events: events("f", 3)})
	assert.Equal(t, []string{"e1", "e2", "e3", "e4"}, d.dueOf("be"))
	assert.Equal(t, []string{"f1"}, d.dueOf("fifo"))

	later := d.clock.Now().Add(time.Minute)
	require.NoError(t, d.record("be", d.seqOf("be", "e1"), state.Attempt{StatusCode: 503}, state.RetryAt(later)))
	require.NoError(t, d.record("be", d.seqOf("be", "e2"), state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, d.record("be", d.seqOf("be", "e3"), state.Attempt{StatusCode: 500}, state.Dead()))
	require.NoError(t, d.record("fifo", d.seqOf("fifo", "f1"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Equal(t, []string{"e4"}, d.dueOf("be"), "the retried one waits, the finished ones are gone")
	assert.Equal(t, []string{"f2"}, d.dueOf("fifo"), "the next head")
	require.NoError(t, d.record("be", d.seqOf("be", "e4"), state.Attempt{StatusCode: 204}, state.Delivered()))
	assert.Empty(t, d.dueOf("be"), "nothing due now, one waiting")

	d.clock.Advance(time.Second)
	n, err := d.Recover("be", d.clock.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "e1 due now again, e3 requeued")
	assert.Equal(t, []string{"e1", "e3"}, d.dueOf("be"))
	_, err = d.Resend("be", state.DeliveryID("be", "e2"))
	require.NoError(t, err)
	assert.Equal(t, []string{"e1", "e3", "e2"}, d.dueOf("be"))

	require.NoError(t, d.SetStatus("be", state.StatusPaused, "by a user"))
	assert.Equal(t, []string{"f2"}, d.due(0))
	require.NoError(t, d.SetStatus("be", state.StatusActive, ""))
	assert.Equal(t, []string{"f2", "e1", "e3", "e2"}, d.due(0))
	require.NoError(t, d.DeleteSubscription("fifo"))
	assert.Equal(t, []string{"e1", "e3", "e2"}, d.due(0))
	d.clock.Advance(2 * time.Minute)
	assert.Equal(t, []string{"e1", "e3", "e2"}, d.due(0), "nothing twice")
}

// dueOf is what is due now of subscription subID alone.
func (d *env) dueOf(subID string) []string {
	d.t.Helper()
	due, err := d.PickDue(d.clock.Now(), 0, state.PickFunc(func(sub string, _ uint64) state.Pick {
		if sub != subID {
			return state.SkipSubscription
		}
		return state.Take
	}))
	require.NoError(d.t, err)
	return eventIDs(due)
}

// testEndpointLastState: one group of attempts to one endpoint from many subscriptions, each
// carrying the endpoint's state after it: the state stored is the last one's, however a backend
// spreads the group over its transactions.
func testEndpointLastState(t *testing.T, d *env) {
	const key, n = "https://sink.example:443", 12
	var records []state.AttemptRecord
	for i := range n {
		id := fmt.Sprint("s", i)
		d.subscribeWith(id, state.OrderingBestEffort)
		d.commit(state.CursorAdvance{SubscriptionID: id, Events: events("m", 1)})
		ep := state.Endpoint{Key: key, ConsecutiveFailures: i + 1, LastError: fmt.Sprint("failure ", i+1)}
		out := state.RetryAt(d.clock.Now().Add(time.Minute))
		out.Endpoint = &ep
		records = append(records, state.AttemptRecord{SubscriptionID: id, Seq: 1, Attempt: state.Attempt{StatusCode: 503}, Outcome: out})
	}
	for i, err := range d.RecordAttempts(records) {
		require.NoError(t, err, "record %d", i)
	}
	got, found, err := d.Endpoint(key)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, n, got.ConsecutiveFailures)
	assert.Equal(t, fmt.Sprint("failure ", n), got.LastError)
}

// testRecordGroupWithGaps: a group of attempts of one subscription's deliveries, with deliveries
// between them it does not record (in flight elsewhere) and one retried: what it did not record is
// due as before, the retried one later, the others gone.
func testRecordGroupWithGaps(t *testing.T, d *env) {
	d.subscribeWith("g", state.OrderingBestEffort)
	d.commit(state.CursorAdvance{SubscriptionID: "g", Events: events("m", 12)})
	var records []state.AttemptRecord
	for _, seq := range []uint64{1, 2, 4, 5, 6, 8, 9, 11} {
		out := state.Delivered()
		if seq == 5 {
			out = state.RetryAt(d.clock.Now().Add(time.Minute))
		}
		records = append(records, state.AttemptRecord{SubscriptionID: "g", Seq: seq, Attempt: state.Attempt{StatusCode: 204}, Outcome: out})
	}
	for i, err := range d.RecordAttempts(records) {
		require.NoError(t, err, "record %d", i)
	}
	assert.Equal(t, []string{"m3", "m7", "m10", "m12"}, d.due(0))
	d.clock.Advance(time.Minute)
	assert.Equal(t, []string{"m3", "m7", "m10", "m12", "m5"}, d.due(0))
}
