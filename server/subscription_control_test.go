package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
)

func TestSubscribeTakesOrderingAndMaxPerSecond(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Ordered")
	resp := e.call("POST", "/subscriptions/rooms/"+room+"/messages", e.alice.Token,
		map[string]any{"callbackUrl": e.sink.url(), "ordering": "fifo", "maxPerSecond": 5})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var sub server.Subscription
	resp.json(t, &sub)
	assert.Equal(t, "fifo", sub.Ordering)
	assert.Equal(t, 5.0, sub.MaxPerSecond)
	require.NotNil(t, sub.Endpoint)
	assert.Equal(t, "closed", sub.Endpoint.State)

	plain := e.subscribe(e.alice.Token, "messages", room)
	assert.Equal(t, "best_effort", plain.Ordering, "the default")

	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"unknown ordering":      {map[string]any{"callbackUrl": e.sink.url(), "ordering": "lifo"}, "ordering"},
		"ordering not text":     {map[string]any{"callbackUrl": e.sink.url(), "ordering": 1}, "ordering"},
		"negative rate":         {map[string]any{"callbackUrl": e.sink.url(), "maxPerSecond": -1}, "maxPerSecond"},
		"rate not a number":     {map[string]any{"callbackUrl": e.sink.url(), "maxPerSecond": "fast"}, "maxPerSecond"},
		"rate beyond reason":    {map[string]any{"callbackUrl": e.sink.url(), "maxPerSecond": 1e9}, "maxPerSecond"},
		"rate that never comes": {map[string]any{"callbackUrl": e.sink.url(), "maxPerSecond": 1e-300}, "maxPerSecond"},
		"rate below the least":  {map[string]any{"callbackUrl": e.sink.url(), "maxPerSecond": 0.009}, "maxPerSecond"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.call("POST", "/subscriptions/rooms/"+room+"/messages", e.alice.Token, tc.body)
			require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
			code, field := resp.errorCode(t)
			assert.Equal(t, server.CodeInvalidField, code)
			assert.Equal(t, tc.field, field)
		})
	}
}

func TestPauseHoldsDeliveriesAndResumeSendsThem(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Paused")
	sub := e.subscribe(e.alice.Token, "messages", room)

	var paused server.Subscription
	resp := e.call("POST", "/subscriptions/"+sub.ID+"/pause", e.alice.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	resp.json(t, &paused)
	assert.Equal(t, state.StatusPaused, paused.Status)
	assert.Contains(t, paused.StatusReason, "paused by the subscriber")

	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "while paused")
	require.NoError(t, err)
	e.cycle()
	assert.Empty(t, e.sink.hooks(), "held while paused")
	var log server.DeliveryList
	e.call("GET", "/subscriptions/"+sub.ID+"/deliveries", e.alice.Token, nil).json(t, &log)
	require.Len(t, log.Items, 1, "the poller kept reading and queuing: nothing is dropped")
	assert.Equal(t, state.DeliveryPending, log.Items[0].Status)

	resp = e.call("POST", "/subscriptions/"+sub.ID+"/resume", e.alice.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var resumed server.Subscription
	resp.json(t, &resumed)
	assert.Equal(t, state.StatusActive, resumed.Status)
	e.cycle()
	require.Len(t, e.sink.hooks(), 1, "resume delivered what was held")
	require.NoError(t, e.sink.hooks()[0].Verified)

	// Another connection cannot touch it; a disabled one cannot be paused or resumed.
	for _, op := range []string{"pause", "resume", "rotate-secret"} {
		assert.Equal(t, http.StatusNotFound, e.call("POST", "/subscriptions/"+sub.ID+"/"+op, e.bob.Token, nil).Status, op)
	}
	require.NoError(t, e.store.SetStatus(sub.ID, state.StatusDisabled, "the callback answered 410"))
	for _, op := range []string{"pause", "resume", "rotate-secret"} {
		resp := e.call("POST", "/subscriptions/"+sub.ID+"/"+op, e.alice.Token, nil)
		assert.Equal(t, http.StatusConflict, resp.Status, op)
		code, _ := resp.errorCode(t)
		assert.Equal(t, server.CodeSubscriptionInactive, code, op)
	}
}

func TestResumeAfterA401SaysTheTokenWorksAgain(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Suspended")
	sub := e.subscribe(e.alice.Token, "messages", room)
	require.NoError(t, e.store.SetStatus(sub.ID, state.StatusSuspended, "HipChat rejected the token (401)"))
	resp := e.call("POST", "/subscriptions/"+sub.ID+"/test", e.alice.Token, nil)
	assert.Equal(t, http.StatusConflict, resp.Status, "a suspended subscription queues nothing")
	assert.Contains(t, string(resp.Body), "resume")

	resp = e.call("POST", "/subscriptions/"+sub.ID+"/resume", e.alice.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "polled again")
	require.NoError(t, err)
	e.cycle()
	require.Len(t, e.sink.hooks(), 1, "polled again from its cursor")
}

func TestRecoverSendsWhatFailedSince(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Recover")
	sub := e.subscribe(e.alice.Token, "messages", room)
	since := e.clock.Now().Add(-time.Second).UTC()
	e.sink.answer(http.StatusInternalServerError)
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "fails")
	require.NoError(t, err)
	e.cycle()
	require.Len(t, e.sink.hooks(), 1)
	e.sink.answer(http.StatusOK)

	resp := e.call("POST", "/subscriptions/"+sub.ID+"/recover", e.alice.Token, map[string]string{"since": since.Format(time.RFC3339)})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var result server.RecoverResult
	resp.json(t, &result)
	assert.Equal(t, 1, result.Queued)
	_, err = e.deliverer.DeliverDue(e.ctx)
	require.NoError(t, err)
	hooks := e.sink.hooks()
	require.Len(t, hooks, 2, "sent again at once, not after its 5 s retry")
	assert.Equal(t, hooks[0].WebhookID, hooks[1].WebhookID, "with its webhook-id")

	for name, body := range map[string]any{
		"missing":    map[string]string{},
		"not a time": map[string]string{"since": "yesterday"},
		"future":     map[string]string{"since": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		"not text":   map[string]int{"since": 1},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.call("POST", "/subscriptions/"+sub.ID+"/recover", e.alice.Token, body)
			require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
			_, field := resp.errorCode(t)
			assert.Equal(t, "since", field)
		})
	}
	assert.Equal(t, http.StatusNotFound, e.call("POST", "/subscriptions/"+sub.ID+"/recover", e.bob.Token,
		map[string]string{"since": since.Format(time.RFC3339)}).Status)
}

// TestRotateSecretSignsUnderEitherUntilTheOverlapEnds: after rotate-secret, each delivery verifies
// under the old secret alone and under the new one alone, until the overlap ends; then under the
// new one only.
func TestRotateSecretSignsUnderEitherUntilTheOverlapEnds(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Rotate")
	sub := e.subscribe(e.alice.Token, "messages", room)
	old := sub.Secret

	resp := e.call("POST", "/subscriptions/"+sub.ID+"/rotate-secret", e.alice.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var rotated server.Subscription
	resp.json(t, &rotated)
	require.NotEmpty(t, rotated.Secret)
	assert.NotEqual(t, old, rotated.Secret)
	assert.WithinDuration(t, e.clock.Now().Add(24*time.Hour), rotated.PreviousSecretExpiresAt, time.Minute, "the default -secret-overlap")
	var shown server.Subscription
	e.call("GET", "/subscriptions/"+sub.ID, e.alice.Token, nil).json(t, &shown)
	assert.Empty(t, shown.Secret, "shown once, in the rotation's answer")
	assert.Equal(t, rotated.PreviousSecretExpiresAt, shown.PreviousSecretExpiresAt)

	verifies := func(h hook, secret string) bool {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		return wh.Verify(h.Body, h.Header) == nil
	}
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "during the overlap")
	require.NoError(t, err)
	e.cycle()
	hooks := e.sink.hooks()
	require.Len(t, hooks, 1)
	assert.True(t, verifies(hooks[0], old), "verifies under the old secret alone")
	assert.True(t, verifies(hooks[0], rotated.Secret), "and under the new one alone")

	e.clock.Advance(25 * time.Hour)
	_, err = e.sim.PostMessage(e.ctx, e.alice.Token, room, "after the overlap")
	require.NoError(t, err)
	e.cycle()
	hooks = e.sink.hooks()
	require.Len(t, hooks, 2)
	last := hooks[1]
	assert.False(t, verifiesAt(t, last, old), "the old secret no longer signs")
	assert.True(t, verifiesAt(t, last, rotated.Secret))
}

// verifiesAt checks h's signature under secret, ignoring the timestamp tolerance (the test's clock
// is ahead of the wall clock).
func verifiesAt(t *testing.T, h hook, secret string) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	return wh.VerifyIgnoringTimestamp(h.Body, h.Header) == nil
}

// A room reference that names nothing HipChat has is refused before any HipChat call, naming
// roomId, by the webhook and polling triggers alike: "." and ".." (a path's dot segments) and one
// longer than an email can be, which would otherwise be copied into the store and the log.
func TestARoomReferenceThatNamesNothingIsRefused(t *testing.T) {
	e := newEnv(t, true)
	for _, room := range []string{".", "..", strings.Repeat("9", actions.MaxReferenceChars+1)} {
		for _, call := range []struct{ method, path string }{
			{"POST", "/subscriptions/rooms/" + room + "/messages"},
			{"GET", "/triggers/rooms/" + room + "/messages"},
		} {
			before, err := e.sim.CallsOf(e.ctx, e.alice.Token)
			require.NoError(t, err)
			resp := e.call(call.method, call.path, e.alice.Token, map[string]any{"callbackUrl": e.sink.url()})
			require.Equal(t, http.StatusBadRequest, resp.Status, "%s %.40s: %s", call.method, call.path, resp.Body)
			code, field := resp.errorCode(t)
			assert.Contains(t, []string{server.CodeInvalidField, server.CodeFieldTooLong}, code)
			assert.Equal(t, "roomId", field)
			after, err := e.sim.CallsOf(e.ctx, e.alice.Token)
			require.NoError(t, err)
			assert.Equal(t, before.Total, after.Total, "no HipChat call")
		}
	}
}
