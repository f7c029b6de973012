package delivery_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// A receiver that answers just after the deliverer was told to stop (a graceful restart while a
// POST is in flight; on a loaded machine the answer may come a moment late) has its answer read and
// recorded: the delivery is delivered, and the next process does not send it again. (Before, the
// stop cut the POST and left the delivery due, so the receiver got it twice.)
func TestAnAnswerOnItsWayWhenTheDelivererStopsIsRecorded(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	arrived, answer := make(chan struct{}), make(chan struct{})
	sk := newSink(t, func(int, *http.Request) int {
		close(arrived)
		<-answer // the receiver is still working when the stop comes
		return http.StatusNoContent
	})
	sub := addSubscription(t, store, testConn, triggers.KindMessage, "room", sk.URL(), nil)
	sk.TrustSubscriptions(sub)
	queue(t, store, sub, "e1")

	d := newDeliverer(t, store, clk, delivery.Options{Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	d.Nudge()
	<-arrived
	cancel() // the stop, while the receiver works
	time.AfterFunc(100*time.Millisecond, func() { close(answer) })
	require.NoError(t, <-done)

	log, err := store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, state.DeliveryDelivered, log[0].Status, "the answer that came after the stop is recorded")
	require.Len(t, log[0].Attempts, 1)
	assert.Equal(t, http.StatusNoContent, log[0].Attempts[0].StatusCode)
}
