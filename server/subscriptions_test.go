package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

func TestSubscribeAnswers201WithLocationAndASecretThatSignsDeliveries(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Ops")
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "before")
	require.NoError(t, err)

	resp := e.call("POST", "/subscriptions/rooms/"+room+"/messages", e.alice.Token, map[string]string{"callbackUrl": e.sink.url()})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var sub server.Subscription
	resp.json(t, &sub)
	assert.Equal(t, e.api.URL+"/subscriptions/"+sub.ID, resp.Header.Get("Location"), "absolute, on the public URL")
	assert.Equal(t, resp.Header.Get("Location"), sub.Location)
	assert.Equal(t, "message", sub.Kind)
	assert.Equal(t, room, sub.Room, "as given")
	assert.Equal(t, room, strconv.Itoa(sub.RoomID), "HipChat's id")
	assert.Equal(t, "Ops", sub.RoomName)
	assert.Equal(t, e.sink.url(), sub.CallbackURL)
	assert.Equal(t, state.StatusActive, sub.Status)
	assert.False(t, sub.CreatedAt.IsZero())
	require.True(t, strings.HasPrefix(sub.Secret, "whsec_"), sub.Secret)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sub.Secret, "whsec_"))
	require.NoError(t, err)
	assert.Len(t, key, 24)
	assert.NotContains(t, string(resp.Body), e.alice.Token)
	e.sink.trust(sub.ID, sub.Secret)

	id, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "after")
	require.NoError(t, err)
	e.cycle()
	hooks := e.sink.hooks()
	require.Len(t, hooks, 1, "only what came after subscribing")
	assert.NoError(t, hooks[0].Verified, "the secret shown once verifies the signature")
	assert.Equal(t, "message.posted", hooks[0].Event)
	var item triggers.HistoryItem
	require.NoError(t, json.Unmarshal(hooks[0].Body, &item))
	assert.Equal(t, id, item.ID)
	assert.Equal(t, "after", item.Message)
	assert.Equal(t, sub.RoomID, item.RoomID, "the delivery carries the room the subscription shows")
	assert.Equal(t, "Ops", item.RoomName)
}

func TestSubscribeToFilesAndRooms(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Docs")
	files := e.subscribe(e.alice.Token, "files", room)
	rooms := e.subscribe(e.alice.Token, "", "")
	assert.Equal(t, "file", files.Kind)
	assert.Equal(t, "room", rooms.Kind)
	assert.Empty(t, rooms.RoomID)
	assert.Empty(t, rooms.Room)
	assert.Empty(t, rooms.RoomName)

	require.NoError(t, e.sim.ShareFile(e.ctx, e.alice.Token, room, "a.txt", "text/plain", []byte("A"), "file a"))
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "no file")
	require.NoError(t, err)
	newRoom := e.room("New")
	e.cycle()
	got := map[string][]string{}
	for _, h := range e.sink.hooks() {
		require.NoError(t, h.Verified)
		got[h.Sub] = append(got[h.Sub], h.Event)
	}
	assert.Equal(t, []string{"file.uploaded"}, got[files.ID])
	assert.Equal(t, []string{"room.created"}, got[rooms.ID])
	for _, h := range e.sink.hooks() {
		if h.Sub == rooms.ID {
			var roomItem triggers.RoomItem
			require.NoError(t, json.Unmarshal(h.Body, &roomItem))
			assert.Equal(t, newRoom, strconv.Itoa(roomItem.ID))
		}
	}
}

func TestSubscribeRefusesBadInputNamingTheField(t *testing.T) {
	e := newEnv(t, false)
	room := e.room("Ops")
	path := "/subscriptions/rooms/" + room + "/messages"
	for name, tc := range map[string]struct {
		path, token string
		body        any
		status      int
		code, field string
		message     []string // the message contains each
	}{
		"no token":          {path, "", map[string]string{"callbackUrl": "https://example.com/hook"}, 401, "missing_token", "", nil},
		"blank room":        {"/subscriptions/rooms/%20/messages", e.alice.Token, map[string]string{"callbackUrl": "https://example.com/hook"}, 400, "missing_field", "roomId", nil},
		"no body":           {path, e.alice.Token, nil, 400, "missing_field", "callbackUrl", nil},
		"no callbackUrl":    {path, e.alice.Token, map[string]string{}, 400, "missing_field", "callbackUrl", nil},
		"blank callbackUrl": {path, e.alice.Token, map[string]string{"callbackUrl": "  "}, 400, "missing_field", "callbackUrl", nil},
		"not JSON":          {path, e.alice.Token, "callbackUrl=https://example.com", 400, "invalid_json", "callbackUrl", nil},
		"not a string":      {path, e.alice.Token, map[string]int{"callbackUrl": 5}, 400, "invalid_field", "callbackUrl", nil},
		"relative":          {path, e.alice.Token, map[string]string{"callbackUrl": "/hook"}, 400, "invalid_field", "callbackUrl", nil},
		"ftp":               {path, e.alice.Token, map[string]string{"callbackUrl": "ftp://example.com/hook"}, 400, "invalid_field", "callbackUrl", nil},
		"loopback": {path, e.alice.Token, map[string]string{"callbackUrl": e.sink.url()}, 400, "invalid_field", "callbackUrl",
			[]string{"callbackUrl refused: 127.0.0.1 is a loopback address", "-allow-private-callbacks"}},
		"unspecified": {path, e.alice.Token, map[string]string{"callbackUrl": "http://0.0.0.0/hook"}, 400, "invalid_field", "callbackUrl",
			[]string{"an unspecified address"}},
		"credentials": {path, e.alice.Token, map[string]string{"callbackUrl": "https://user:pass@93.184.216.34/x"}, 400, "invalid_field", "callbackUrl",
			[]string{"callbackUrl refused: it must not carry a user name or password"}},
		"private":          {path, e.alice.Token, map[string]string{"callbackUrl": "http://10.1.2.3/hook"}, 400, "invalid_field", "callbackUrl", nil},
		"metadata service": {path, e.alice.Token, map[string]string{"callbackUrl": "http://169.254.169.254/latest"}, 400, "invalid_field", "callbackUrl", nil},
		"unknown room":     {"/subscriptions/rooms/99999/messages", e.alice.Token, map[string]string{"callbackUrl": "https://93.184.216.34/hook"}, 404, "room_not_found", "roomId", nil},
		"rejected token":   {path, "not-a-token", map[string]string{"callbackUrl": "https://93.184.216.34/hook"}, 401, "token_rejected", "", nil},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.call("POST", tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, resp.Status, string(resp.Body))
			code, field := resp.errorCode(t)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.field, field)
			var body struct{ Error struct{ Message string } }
			resp.json(t, &body)
			for _, want := range tc.message {
				assert.Contains(t, body.Error.Message, want)
			}
			assert.NotContains(t, body.Error.Message, "callbackUrl: callback URL refused", "one prefix, not two")
			assert.NotContains(t, body.Error.Message, "pass@", "credentials are not echoed")
		})
	}
	subs, err := e.store.SubscriptionsOf(connOf(e, e.alice.Token))
	require.NoError(t, err)
	assert.Empty(t, subs, "nothing was stored")
}

func TestEveryOperationIsScopedToTheCallersConnection(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Private matters")
	sub := e.subscribe(e.alice.Token, "messages", room)
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "hello")
	require.NoError(t, err)
	e.cycle()
	require.Len(t, e.sink.hooks(), 1)
	delivery := e.sink.hooks()[0].WebhookID

	for name, req := range map[string][2]string{
		"get":        {"GET", "/subscriptions/" + sub.ID},
		"deliveries": {"GET", "/subscriptions/" + sub.ID + "/deliveries"},
		"resend":     {"POST", "/subscriptions/" + sub.ID + "/deliveries/" + delivery + "/resend"},
		"test":       {"POST", "/subscriptions/" + sub.ID + "/test"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.call(req[0], req[1], e.bob.Token, nil)
			assert.Equal(t, http.StatusNotFound, resp.Status)
			code, _ := resp.errorCode(t)
			assert.Equal(t, server.CodeSubscriptionNotFound, code)
			assert.NotContains(t, string(resp.Body), sub.CallbackURL)
			missing := e.call(req[0], strings.Replace(req[1], sub.ID, "00000000-0000-0000-0000-000000000000", 1), e.bob.Token, nil)
			assert.Equal(t, resp.Body, missing.Body, "another's subscription looks exactly like a missing one")
		})
	}
	var list server.SubscriptionList
	e.call("GET", "/subscriptions", e.bob.Token, nil).json(t, &list)
	assert.Empty(t, list.Items)

	resp := e.call("DELETE", "/subscriptions/"+sub.ID, e.bob.Token, nil)
	assert.Equal(t, http.StatusNoContent, resp.Status, "idempotent: nothing to say about another's")
	assert.Equal(t, http.StatusOK, e.call("GET", "/subscriptions/"+sub.ID, e.alice.Token, nil).Status, "and untouched")
	assert.Len(t, e.sink.hooks(), 1, "bob's test event and resend sent nothing")
}

func TestGetAndListShowCursorAndHealthButNoSecrets(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Ops")
	sub := e.subscribe(e.alice.Token, "messages", room)
	id, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "hello")
	require.NoError(t, err)
	e.cycle()

	resp := e.call("GET", "/subscriptions/"+sub.ID, e.alice.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	assert.NotContains(t, string(resp.Body), sub.Secret)
	assert.NotContains(t, string(resp.Body), e.alice.Token)
	assert.NotContains(t, string(resp.Body), `"secret"`)
	var got server.Subscription
	resp.json(t, &got)
	var cursor triggers.MessageCursor
	require.NoError(t, json.Unmarshal(got.Cursor, &cursor))
	assert.Equal(t, id, cursor.LastID, "the cursor stands at the last event sent")
	require.NotNil(t, got.Health)
	assert.False(t, got.Health.LastDeliveredAt.IsZero())
	assert.Zero(t, got.Health.ConsecutiveFailures)
	assert.Equal(t, sub.Location, got.Location)

	var list server.SubscriptionList
	listResp := e.call("GET", "/subscriptions", e.alice.Token, nil)
	listResp.json(t, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, sub.ID, list.Items[0].ID)
	assert.NotContains(t, string(listResp.Body), sub.Secret)
}

// TestGetSubscriptionShowsItsBacklogAndWhenItIsHeld: the view counts the pending deliveries and
// says when they reached the outbox's bound (the poller then holds the subscription's cursor).
func TestGetSubscriptionShowsItsBacklogAndWhenItIsHeld(t *testing.T) {
	e := newEnvBounded(t, true, "", 2)
	room := e.room("Backlog")
	sub := e.subscribe(e.alice.Token, "messages", room)
	backlog := func() server.Backlog {
		t.Helper()
		var got server.Subscription
		e.call("GET", "/subscriptions/"+sub.ID, e.alice.Token, nil).json(t, &got)
		require.NotNil(t, got.Backlog)
		return *got.Backlog
	}
	assert.Equal(t, server.Backlog{Pending: 0, Held: false, MaxPending: 2}, backlog())

	assert.Equal(t, http.StatusOK, e.call("POST", "/subscriptions/"+sub.ID+"/pause", e.alice.Token, nil).Status)
	for _, text := range []string{"one", "two", "three"} {
		_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, text)
		require.NoError(t, err)
	}
	e.cycle()
	assert.Equal(t, server.Backlog{Pending: 2, Held: true, MaxPending: 2}, backlog(), "the third waits in HipChat")
	var list server.SubscriptionList
	e.call("GET", "/subscriptions", e.alice.Token, nil).json(t, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, &server.Backlog{Pending: 2, Held: true, MaxPending: 2}, list.Items[0].Backlog, "lists show it too")

	assert.Equal(t, http.StatusOK, e.call("POST", "/subscriptions/"+sub.ID+"/resume", e.alice.Token, nil).Status)
	e.cycle()
	e.cycle()
	assert.Equal(t, server.Backlog{Pending: 0, Held: false, MaxPending: 2}, backlog(), "drained, and the third delivered")
	assert.Len(t, e.sink.hooks(), 3)
}

// TestTestEventsStopAtTheOutboxsBound: a subscription whose deliveries do not drain (paused here;
// a receiver that is down does the same) takes test events only up to the bounded outbox's bound.
// Test events cost no HipChat call, so without it one token could fill the store everyone shares,
// one request at a time, past the bound the poller keeps.
func TestTestEventsStopAtTheOutboxsBound(t *testing.T) {
	e := newEnvBounded(t, true, "", 3)
	room := e.room("Tests")
	sub := e.subscribe(e.alice.Token, "messages", room)
	require.Equal(t, http.StatusOK, e.call("POST", "/subscriptions/"+sub.ID+"/pause", e.alice.Token, nil).Status)
	for range 10 {
		e.call("POST", "/subscriptions/"+sub.ID+"/test", e.alice.Token, nil)
	}
	n, err := e.store.PendingCount(sub.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "pending deliveries stop at the bound")
	resp := e.call("POST", "/subscriptions/"+sub.ID+"/test", e.alice.Token, nil)
	assert.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
}

func TestDeleteIsIdempotentAndStopsDeliveries(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Ops")
	sub := e.subscribe(e.alice.Token, "messages", room)
	assert.Equal(t, http.StatusNoContent, e.call("DELETE", "/subscriptions/"+sub.ID, e.alice.Token, nil).Status)
	assert.Equal(t, http.StatusNoContent, e.call("DELETE", "/subscriptions/"+sub.ID, e.alice.Token, nil).Status, "twice")
	assert.Equal(t, http.StatusNoContent, e.call("DELETE", "/subscriptions/never-was", e.alice.Token, nil).Status)
	assert.Equal(t, http.StatusNotFound, e.call("GET", "/subscriptions/"+sub.ID, e.alice.Token, nil).Status)
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "nobody listens")
	require.NoError(t, err)
	e.cycle()
	assert.Empty(t, e.sink.hooks())
}

func TestDeliveriesResendAndTestEvent(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Ops")
	sub := e.subscribe(e.alice.Token, "messages", room)
	msg, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "hello")
	require.NoError(t, err)
	e.sink.answer(http.StatusServiceUnavailable)
	e.cycle()

	var list server.DeliveryList
	e.call("GET", "/subscriptions/"+sub.ID+"/deliveries", e.alice.Token, nil).json(t, &list)
	require.Len(t, list.Items, 1)
	dl := list.Items[0]
	assert.Equal(t, state.DeliveryID(sub.ID, msg), dl.ID)
	assert.Equal(t, msg, dl.EventID)
	assert.Equal(t, "message.posted", dl.Type)
	assert.Equal(t, state.DeliveryPending, dl.Status)
	assert.False(t, dl.NextAttemptAt.IsZero())
	require.Len(t, dl.Attempts, 1)
	assert.Equal(t, 503, dl.Attempts[0].StatusCode)
	var payload triggers.HistoryItem
	require.NoError(t, json.Unmarshal(dl.Payload, &payload))
	assert.Equal(t, msg, payload.ID)

	resend := e.call("POST", "/subscriptions/"+sub.ID+"/deliveries/"+dl.ID+"/resend", e.alice.Token, nil)
	assert.Equal(t, http.StatusConflict, resend.Status, "still pending")
	code, _ := resend.errorCode(t)
	assert.Equal(t, server.CodeDeliveryPending, code)
	unknown := e.call("POST", "/subscriptions/"+sub.ID+"/deliveries/msg_nope/resend", e.alice.Token, nil)
	assert.Equal(t, http.StatusNotFound, unknown.Status)
	code, field := unknown.errorCode(t)
	assert.Equal(t, server.CodeDeliveryNotFound, code)
	assert.Equal(t, "deliveryId", field)

	// The receiver recovers; the retry delivers; an operator resends it anyway.
	e.sink.answer(http.StatusOK)
	e.clock.Advance(6 * time.Second)
	e.cycle()
	resend = e.call("POST", "/subscriptions/"+sub.ID+"/deliveries/"+dl.ID+"/resend", e.alice.Token, nil)
	require.Equal(t, http.StatusAccepted, resend.Status, string(resend.Body))
	var queued server.Delivery
	resend.json(t, &queued)
	assert.Equal(t, dl.ID, queued.ID, "a resend keeps the webhook-id")
	assert.Equal(t, state.DeliveryPending, queued.Status)
	e.cycle()
	hooks := e.sink.hooks()
	assert.Equal(t, dl.ID, hooks[len(hooks)-1].WebhookID)
	assert.NoError(t, hooks[len(hooks)-1].Verified)

	test := e.call("POST", "/subscriptions/"+sub.ID+"/test", e.alice.Token, nil)
	require.Equal(t, http.StatusAccepted, test.Status, string(test.Body))
	var testDelivery server.Delivery
	test.json(t, &testDelivery)
	assert.Equal(t, server.TestEventType, testDelivery.Type)
	e.cycle()
	hooks = e.sink.hooks()
	last := hooks[len(hooks)-1]
	assert.Equal(t, "test", last.Event)
	assert.Equal(t, testDelivery.ID, last.WebhookID)
	assert.NoError(t, last.Verified, "the test event is signed like any other")
	assert.Contains(t, string(last.Body), `"type":"test"`)

	e.call("GET", "/subscriptions/"+sub.ID+"/deliveries", e.alice.Token, nil).json(t, &list)
	require.Len(t, list.Items, 2)
	assert.Equal(t, testDelivery.ID, list.Items[0].ID, "newest first")
}

func TestResendAndTestNeedAnActiveSubscription(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Gone")
	sub := e.subscribe(e.alice.Token, "messages", room)
	e.sink.answer(http.StatusGone)
	_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "hello")
	require.NoError(t, err)
	e.cycle()

	var got server.Subscription
	e.call("GET", "/subscriptions/"+sub.ID, e.alice.Token, nil).json(t, &got)
	assert.Equal(t, state.StatusDisabled, got.Status)
	assert.Contains(t, got.StatusReason, "410")
	assert.Equal(t, 1, got.Health.DeadLettered)

	resp := e.call("POST", "/subscriptions/"+sub.ID+"/test", e.alice.Token, nil)
	assert.Equal(t, http.StatusConflict, resp.Status)
	code, _ := resp.errorCode(t)
	assert.Equal(t, server.CodeSubscriptionInactive, code)
	assert.Contains(t, string(resp.Body), "410")
}

// The -allow-private-callbacks hint is given only where that flag would help: a loopback or private
// address on a connector without it. Link-local, multicast and unspecified addresses, which the flag
// never allows, and any refusal on a connector that has it, get no hint.
func TestThePrivateCallbacksHintOnlyWhereTheFlagHelps(t *testing.T) {
	for _, allowPrivate := range []bool{false, true} {
		e := newEnv(t, allowPrivate)
		path := "/subscriptions/rooms/" + e.room("Ops") + "/messages"
		for url, hint := range map[string]bool{
			"http://127.0.0.1:9/hook":             !allowPrivate,
			"http://10.1.2.3/hook":                !allowPrivate,
			"http://169.254.169.254/latest":       false,
			"http://[fe80::1%25eth0]/hook":        false,
			"http://0.0.0.0/hook":                 false,
			"http://239.1.2.3/hook":               false,
			"http://[2002:a9fe:a9fe::1]/metadata": false,
		} {
			resp := e.call("POST", path, e.alice.Token, map[string]string{"callbackUrl": url})
			if allowPrivate && (strings.Contains(url, "127.0.0.1") || strings.Contains(url, "10.1.2.3")) {
				assert.Equal(t, http.StatusCreated, resp.Status, "%s is allowed with the flag", url)
				continue
			}
			require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", url, resp.Body)
			var body struct {
				Error struct{ Message, Field string }
			}
			resp.json(t, &body)
			assert.Equal(t, "callbackUrl", body.Error.Field)
			assert.Equal(t, hint, strings.Contains(body.Error.Message, "-allow-private-callbacks"),
				"allowPrivate=%v %s: %s", allowPrivate, url, body.Error.Message)
		}
	}
}

// A callback URL with a character a URL carries only percent-encoded is refused, naming the
// character and its encoding, in either mode; the same URL percent-encoded is taken as given.
func TestCallbackURLsWithCharactersAURLCannotHoldAreRefused(t *testing.T) {
	e := newEnv(t, true)
	path := "/subscriptions/rooms/" + e.room("Ops") + "/messages"
	for url, want := range map[string]string{
		e.sink.url() + "/a b":        "a space at character",
		e.sink.url() + `?q="x"`:      `"\"" at character`,
		e.sink.url() + "?q=<script>": `"<" at character`,
	} {
		resp := e.call("POST", path, e.alice.Token, map[string]string{"callbackUrl": url})
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", url, resp.Body)
		var body struct {
			Error struct{ Message, Field string }
		}
		resp.json(t, &body)
		assert.Equal(t, "callbackUrl", body.Error.Field)
		assert.Contains(t, body.Error.Message, want)
	}
	subs, err := e.store.SubscriptionsOf(connOf(e, e.alice.Token))
	require.NoError(t, err)
	assert.Empty(t, subs, "nothing was stored")
	resp := e.call("POST", path, e.alice.Token, map[string]string{"callbackUrl": e.sink.url() + "/a%20b"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var encoded server.Subscription
	resp.json(t, &encoded)
	assert.Equal(t, e.sink.url()+"/a%20b", encoded.CallbackURL)
}

// TestAConnectionHoldsAtMostItsBoundOfSubscriptions: a connection at
// -max-subscriptions-per-connection (2 here) is refused a third subscription, 409
// too_many_subscriptions, before any HipChat call, whatever the status of the two it holds (a
// paused one still keeps its deliveries); another connection is not affected, and deleting one
// makes room again. With the bounded outbox, it bounds what one token can make the shared store
// hold.
func TestAConnectionHoldsAtMostItsBoundOfSubscriptions(t *testing.T) {
	e := newEnvLimited(t, true, "", 10000, 2)
	room := e.room("Bounded")
	first := e.subscribe(e.alice.Token, "messages", room)
	e.subscribe(e.alice.Token, "files", room)
	require.Equal(t, http.StatusOK, e.call("POST", "/subscriptions/"+first.ID+"/pause", e.alice.Token, nil).Status)

	before, err := e.sim.CallsOf(e.ctx, e.alice.Token)
	require.NoError(t, err)
	resp := e.call("POST", "/subscriptions/rooms/"+room+"/messages", e.alice.Token, map[string]any{"callbackUrl": e.sink.url()})
	require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
	code, _ := resp.errorCode(t)
	assert.Equal(t, server.CodeTooManySubscriptions, code)
	after, err := e.sim.CallsOf(e.ctx, e.alice.Token)
	require.NoError(t, err)
	assert.Equal(t, before.Total, after.Total, "refused before any HipChat call")
	var list server.SubscriptionList
	e.call("GET", "/subscriptions", e.alice.Token, nil).json(t, &list)
	assert.Len(t, list.Items, 2, "nothing was stored")

	e.subscribe(e.bob.Token, "messages", room) // another connection has its own bound

	require.Equal(t, http.StatusNoContent, e.call("DELETE", "/subscriptions/"+first.ID, e.alice.Token, nil).Status)
	e.subscribe(e.alice.Token, "messages", room)
}
