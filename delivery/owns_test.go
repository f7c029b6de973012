package delivery_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestDispatchAttemptsOnlyTheSubscriptionsItOwns: with Options.Owns, the deliveries of a
// subscription another replica owns are passed over (left pending, unattempted) until this replica
// owns it.
func TestDispatchAttemptsOnlyTheSubscriptionsItOwns(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, nil)
	mine := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL())
	theirs := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "2", sk.URL())
	sk.TrustSubscriptions(mine, theirs)
	queue(t, store, mine, "m1")
	queue(t, store, theirs, "t1")
	var mu sync.Mutex
	owned := map[string]bool{mine.ID: true}
	d := newDeliverer(t, store, clk, delivery.Options{Owns: func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return owned[id]
	}})

	n, err := d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{"m1"}, sk.Accepted()[mine.ID])
	assert.Empty(t, sk.Accepted()[theirs.ID], "another replica's delivery is not attempted")
	log, err := store.Deliveries(theirs.ID, 0)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Empty(t, log[0].Attempts, "and not counted as an attempt")

	mu.Lock()
	owned[theirs.ID] = true
	mu.Unlock()
	n, err = d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{"t1"}, sk.Accepted()[theirs.ID])
}
