package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Two connections deliver to one receiving service (one scheme, host and port: a Logic Apps
// region, hooks.zapier.com, an n8n cloud host), each to its own URL there. The other connection's
// URL fails; this one's answers.
var otherConn = connector.NewConnection("token-mallory", "http://hipchat.invalid")

// answerByTenant answers 404 to the other connection's URL (?who=mallory) and 204 to the rest.
func answerByTenant(_ int, r *http.Request) int {
	if r.URL.Query().Get("who") == "mallory" {
		return http.StatusNotFound
	}
	return http.StatusNoContent
}

// TestAnotherConnectionsFailingURLOnTheSameHostHoldsNoneOfThisOnesDeliveries: the other
// connection's 10 deliveries to its failing URL fail, which opens a circuit. This connection's event
// to its own URL on the same host, queued then, goes out at once: the circuit the other's failures
// opened holds only theirs.
func TestAnotherConnectionsFailingURLOnTheSameHostHoldsNoneOfThisOnesDeliveries(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, answerByTenant)
	mallory := addSubscription(t, store, otherConn, triggers.KindMessage, "1", sk.URL()+"?who=mallory", nil)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
	}
	queue(t, store, mallory, ids...)
	victim := addSubscription(t, store, testConn, triggers.KindMessage, "2", sk.URL(), nil)
	sk.TrustSubscriptions(victim)

	d := newDeliverer(t, store, clk, delivery.Options{})
	_, err := d.DeliverDue(context.Background())
	require.NoError(t, err)
	require.Len(t, sk.Requests(), 10, "the other connection's 10 failed")

	queue(t, store, victim, "v1")
	_, err = d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"v1"}, sk.Accepted()[victim.ID], "delivered at once, whatever another connection's URL answers")
}

// TestAnotherConnectionsFailingURLOnTheSameHostDisablesNoneOfThisOnesSubscriptions: the other
// connection's URL fails for DisableAfter; this connection's subscription to its own URL on the same
// host, with nothing to deliver meanwhile, stays active.
func TestAnotherConnectionsFailingURLOnTheSameHostDisablesNoneOfThisOnesSubscriptions(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, answerByTenant)
	mallory := addSubscription(t, store, otherConn, triggers.KindMessage, "1", sk.URL()+"?who=mallory", nil)
	queue(t, store, mallory, "m1")
	victim := addSubscription(t, store, testConn, triggers.KindMessage, "2", sk.URL(), nil)

	schedule := make([]time.Duration, 30)
	for i := range schedule {
		schedule[i] = time.Second
	}
	d := newDeliverer(t, store, clk, delivery.Options{Schedule: schedule, DisableAfter: 10 * time.Second, CircuitFailures: 100})
	for range 15 {
		_, err := d.DeliverDue(context.Background())
		require.NoError(t, err)
		clk.Advance(time.Second)
	}
	got, err := store.Subscription(mallory.ID)
	require.NoError(t, err)
	require.Equal(t, state.StatusDisabled, got.Status, "the failing one is disabled")
	got, err = store.Subscription(victim.ID)
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, got.Status, "another connection's failures disable nothing of this one: %s", got.StatusReason)
}
