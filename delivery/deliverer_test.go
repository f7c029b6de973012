package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

var testConn = connector.NewConnection("token-a", "http://hipchat.invalid")

func TestDeliveryIsSignedWithStandardWebhooksHeaders(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, nil)
	sub := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL())
	sk.TrustSubscriptions(sub)
	queue(t, store, sub, "m1")
	require.NoError(t, store.CommitFeed([]state.CursorAdvance{{SubscriptionID: sub.ID, Events: []state.Event{
		{ID: "m2", Type: "message.posted", Payload: []byte(`{"id":"m2"}`), CatchUpNote: "catch-up bound skipped 3 earlier events"},
	}}}))

	d := newDeliverer(t, store, clk, delivery.Options{})
	n, err := d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	got := sk.Requests()
	require.Len(t, got, 2)
	for i, r := range got {
		assert.NoError(t, r.VerifyErr, "signature verifies with the subscription's secret")
		assert.Equal(t, state.DeliveryID(sub.ID, r.Item), r.WebhookID)
		assert.Equal(t, strconv.FormatInt(clk.Now().Unix(), 10), r.Timestamp)
		assert.Equal(t, "message.posted", r.Event)
		assert.Equal(t, []string{"m1", "m2"}[i], r.Item, "in order")
	}
	assert.Empty(t, got[0].CatchUp)
	assert.Equal(t, "catch-up bound skipped 3 earlier events", got[1].CatchUp)

	log, err := store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	for _, dl := range log {
		assert.Equal(t, state.DeliveryDelivered, dl.Status)
		require.Len(t, dl.Attempts, 1)
		assert.Equal(t, http.StatusNoContent, dl.Attempts[0].StatusCode)
	}
	again, err := d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Zero(t, again, "nothing is delivered twice")
}

func TestRequestHeadersAreThoseOfAJSONWebhook(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	var header http.Header
	sk := newSink(t, func(_ int, r *http.Request) int { header = r.Header.Clone(); return 200 })
	sub := addSubscription(t, store, testConn, triggers.KindRoom, "", sk.URL(), nil)
	sk.TrustSubscriptions(sub)
	queue(t, store, sub, "7")
	_, err := newDeliverer(t, store, clk, delivery.Options{}).DeliverDue(context.Background())
	require.NoError(t, err)
	require.NotNil(t, header)
	assert.Equal(t, "application/json", header.Get("Content-Type"))
	assert.Equal(t, webhook.DefaultUserAgent, header.Get("User-Agent"))
	assert.Regexp(t, `^v1,[A-Za-z0-9+/]+=*$`, header.Get("webhook-signature"))
	assert.Equal(t, sub.ID, header.Get(webhook.HeaderSubscription))
}

func TestSinkFailingHalfItsRequestsGetsEverythingInOrder(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	rng := rand.New(rand.NewPCG(1, 2))
	var rngMu sync.Mutex
	sk := newSink(t, func(int, *http.Request) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		if rng.IntN(2) == 0 {
			return []int{500, 502, 503, 429, 408, 302}[rng.IntN(6)]
		}
		return 200
	})
	const subs, events = 12, 25
	want := map[string][]string{}
	for s := 0; s < subs; s++ {
		sub := addFIFOSubscription(t, store, testConn, triggers.KindMessage, strconv.Itoa(s+1), sk.URL())
		sk.TrustSubscriptions(sub)
		var ids []string
		for e := 0; e < events; e++ {
			ids = append(ids, fmt.Sprintf("s%d-m%02d", s, e))
		}
		queue(t, store, sub, ids...)
		want[sub.ID] = ids
	}
	schedule := make([]time.Duration, 30) // 31 attempts: 0.5^31 makes a dead letter practically impossible
	for i := range schedule {
		schedule[i] = time.Second
	}
	d := newDeliverer(t, store, clk, delivery.Options{Schedule: schedule, Concurrency: 4})
	for round := 0; round < 500 && !equalDelivered(sk.Accepted(), want); round++ {
		_, err := d.DeliverDue(context.Background())
		require.NoError(t, err)
		clk.Advance(time.Second)
	}
	assert.Equal(t, want, sk.Accepted(), "every event delivered once, in order per subscription")

	attemptsByID := map[string]int{}
	for _, r := range sk.Requests() {
		require.NoError(t, r.VerifyErr)
		assert.Equal(t, state.DeliveryID(r.Sub, r.Item), r.WebhookID, "a retry repeats the webhook-id")
		attemptsByID[r.WebhookID]++
	}
	retried := 0
	for _, n := range attemptsByID {
		if n > 1 {
			retried++
		}
	}
	assert.Greater(t, retried, subs*events/4, "the sink's failures caused retries")
}

func equalDelivered(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if len(got[k]) != len(v) {
			return false
		}
	}
	return true
}

func TestGoneDisablesTheSubscription(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, func(int, *http.Request) int { return http.StatusGone })
	sub := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL())
	sk.TrustSubscriptions(sub)
	queue(t, store, sub, "m1", "m2")
	d := newDeliverer(t, store, clk, delivery.Options{})
	_, err := d.DeliverDue(context.Background())
	require.NoError(t, err)

	assert.Len(t, sk.Requests(), 1, "nothing more is sent after 410")
	got, err := store.Subscription(sub.ID)
	require.NoError(t, err)
	assert.Equal(t, state.StatusDisabled, got.Status)
	assert.Contains(t, got.StatusReason, "410 Gone")
	log, err := store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, state.DeliveryPending, log[0].Status, "m2 waits")
	assert.Equal(t, state.DeliveryDead, log[1].Status, "m1 is dead-lettered")

	clk.Advance(time.Hour)
	_, err = d.DeliverDue(context.Background())
	require.NoError(t, err)
	assert.Len(t, sk.Requests(), 1, "a disabled subscription gets nothing")
}

func TestExhaustedRetriesDeadLetterOnTheSvixSchedule(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, func(n int, _ *http.Request) int {
		if n < 8 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	sub := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL())
	sk.TrustSubscriptions(sub)
	queue(t, store, sub, "m1", "m2")
	d := newDeliverer(t, store, clk, delivery.Options{})
	start := clk.Now()
	ctx := context.Background()

	_, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	for _, delay := range webhook.DefaultRetrySchedule {
		clk.Advance(delay - time.Second)
		n, err := d.DeliverDue(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "not due before its delay")
		clk.Advance(time.Second)
		n, err = d.DeliverDue(ctx)
		require.NoError(t, err)
		require.NotZero(t, n)
	}

	log, err := store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	require.Len(t, log, 2)
	m1, m2 := log[1], log[0]
	assert.Equal(t, state.DeliveryDead, m1.Status)
	require.Len(t, m1.Attempts, 8, "the first attempt and 7 retries")
	at := start
	for i, a := range m1.Attempts {
		if i > 0 {
			at = at.Add(webhook.DefaultRetrySchedule[i-1])
		}
		assert.True(t, at.Equal(a.At), "attempt %d at %s, want %s", i, a.At, at)
		assert.Equal(t, http.StatusServiceUnavailable, a.StatusCode)
	}
	assert.Contains(t, m1.Attempts[7].Error, "retries exhausted")
	assert.Equal(t, state.DeliveryDelivered, m2.Status, "the queue moves on after a dead letter")

	got, err := store.Subscription(sub.ID)
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, got.Status)
	assert.Equal(t, 1, got.Health.DeadLettered)
	assert.Equal(t, 0, got.Health.ConsecutiveFailures)

	// A resend starts a new round: one failure does not dead-letter it again.
	sk.SetAnswer(func(int, *http.Request) int { return http.StatusInternalServerError })
	_, err = store.Resend(sub.ID, m1.ID)
	require.NoError(t, err)
	_, err = d.DeliverDue(ctx)
	require.NoError(t, err)
	again, err := store.Delivery(sub.ID, m1.ID)
	require.NoError(t, err)
	assert.Equal(t, state.DeliveryPending, again.Status)
	assert.Equal(t, clk.Now().Add(5*time.Second), again.NextAttemptAt)
	assert.Equal(t, m1.ID, sk.Requests()[len(sk.Requests())-1].WebhookID, "a resend keeps the webhook-id")
}

func TestRetryAfterPushesTheNextAttemptBack(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, func(int, *http.Request) int { return http.StatusTooManyRequests })
	sk.SetHeader("Retry-After", "3600")
	sub := addSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL(), nil)
	sk.TrustSubscriptions(sub)
	queue(t, store, sub, "m1")
	_, err := newDeliverer(t, store, clk, delivery.Options{}).DeliverDue(context.Background())
	require.NoError(t, err)
	dl, err := store.Delivery(sub.ID, state.DeliveryID(sub.ID, "m1"))
	require.NoError(t, err)
	assert.Equal(t, clk.Now().Add(time.Hour), dl.NextAttemptAt)
}

func TestTimeoutsRedirectsAndRefusedAddressesAreRetried(t *testing.T) {
	for name, tc := range map[string]struct {
		answer  func(int, *http.Request) int
		private bool
		want    string
		status  int
	}{
		"timeout": {answer: func(_ int, r *http.Request) int {
			select { // until the deliverer hangs up
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return 200
		}, private: true, want: "no answer within 200ms"},
		"redirect":                      {answer: func(int, *http.Request) int { return http.StatusFound }, private: true, status: http.StatusFound},
		"loopback refused at dial time": {private: false, want: "callback URL refused: 127.0.0.1 is a loopback address"},
	} {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			store := openStore(t, clk)
			sk := newSink(t, tc.answer)
			sub := addSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL(), nil)
			queue(t, store, sub, "m1")
			d, err := delivery.New(delivery.Options{
				Store: store, Now: clk.Now, Timeout: 200 * time.Millisecond, AllowPrivateCallbacks: tc.private,
				Jitter: func(d time.Duration) time.Duration { return d }, Logger: slog.New(slog.DiscardHandler),
			})
			require.NoError(t, err)
			_, err = d.DeliverDue(context.Background())
			require.NoError(t, err)
			dl, err := store.Delivery(sub.ID, state.DeliveryID(sub.ID, "m1"))
			require.NoError(t, err)
			assert.Equal(t, state.DeliveryPending, dl.Status)
			require.Len(t, dl.Attempts, 1)
			assert.Contains(t, dl.Attempts[0].Error, tc.want)
			assert.Equal(t, tc.status, dl.Attempts[0].StatusCode)
			assert.Equal(t, clk.Now().Add(5*time.Second), dl.NextAttemptAt)
			if !tc.private {
				assert.Empty(t, sk.Requests(), "the refused address was never reached")
			}
		})
	}
}

func TestRunDeliversWhenNudged(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	sk := newSink(t, nil)
	sub := addFIFOSubscription(t, store, testConn, triggers.KindMessage, "1", sk.URL())
	sk.TrustSubscriptions(sub)
	d := newDeliverer(t, store, clk, delivery.Options{Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	queue(t, store, sub, "m1", "m2", "m3")
	d.Nudge()
	require.Eventually(t, func() bool { return len(sk.Accepted()[sub.ID]) == 3 }, 30*time.Second, 5*time.Millisecond,
		"a nudge, not the hourly interval, starts delivery")
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, []string{"m1", "m2", "m3"}, sk.Accepted()[sub.ID])
}

func TestNewDelivererValidatesOptions(t *testing.T) {
	clk := newClock()
	store := openStore(t, clk)
	for name, opts := range map[string]delivery.Options{
		"no store":                                   {},
		"negative interval":                          {Store: store, Interval: -time.Second},
		"zero retry delay":                           {Store: store, Schedule: []time.Duration{time.Second, 0}},
		"negative per-connection bound":              {Store: store, PerConnectionUnproven: -1},
		"a connection's bound as large as the slots": {Store: store, Concurrency: 8, PerConnectionUnproven: 8},
		"a connection's bound the whole slow pool":   {Store: store, SlowInFlight: 4, PerConnectionUnproven: 4},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := delivery.New(opts)
			assert.Error(t, err)
		})
	}
	_, err := delivery.New(delivery.Options{Store: store, SlowInFlight: 4, PerConnectionUnproven: 4})
	assert.ErrorContains(t, err, "PerConnectionUnproven 4 must be smaller than Concurrency (64) and SlowInFlight (4)", "the error names the field")
	for name, opts := range map[string]delivery.Options{
		"one slot: a bound of one": {Store: store, Concurrency: 1},
		"below both":               {Store: store, Concurrency: 8, SlowInFlight: 4, PerConnectionUnproven: 3},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := delivery.New(opts)
			assert.NoError(t, err)
		})
	}
}
