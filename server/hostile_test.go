package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/server"
)

// Every route that names a subscription answers another connection 404 subscription_not_found and
// changes nothing; the owner still sees it as it was (status, secret, deliveries). One table over
// the subscription routes of routes.go.
func TestASubscriptionIsReachableOnlyByItsConnection(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Owned")
	sub := e.subscribe(e.alice.Token, "messages", room)
	resp := e.call("POST", "/subscriptions/"+sub.ID+"/test", e.alice.Token, nil)
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var delivery server.Delivery
	resp.json(t, &delivery)
	e.cycle()

	base := "/subscriptions/" + sub.ID
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", base, nil},
		{"GET", base + "/deliveries", nil},
		{"POST", base + "/deliveries/" + delivery.ID + "/resend", nil},
		{"POST", base + "/test", nil},
		{"POST", base + "/pause", nil},
		{"POST", base + "/resume", nil},
		{"POST", base + "/recover", map[string]string{"since": "2020-01-01T00:00:00Z"}},
		{"POST", base + "/rotate-secret", nil},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+strings.TrimPrefix(rt.path, base), func(t *testing.T) {
			resp := e.call(rt.method, rt.path, e.bob.Token, rt.body)
			assert.Equal(t, http.StatusNotFound, resp.Status, string(resp.Body))
			code, _ := resp.errorCode(t)
			assert.Equal(t, "subscription_not_found", code)
			assert.NotContains(t, string(resp.Body), sub.CallbackURL, "nothing of the subscription leaks")
		})
	}
	t.Run("DELETE", func(t *testing.T) {
		resp := e.call("DELETE", base, e.bob.Token, nil)
		assert.Equal(t, http.StatusNoContent, resp.Status, "a DELETE of another's subscription is a no-op 204")
	})
	t.Run("list", func(t *testing.T) {
		resp := e.call("GET", "/subscriptions", e.bob.Token, nil)
		require.Equal(t, http.StatusOK, resp.Status)
		assert.NotContains(t, string(resp.Body), sub.ID)
	})

	// Nothing changed for the owner: still active, same secret, the test delivery delivered once.
	resp = e.call("GET", base, e.alice.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var after server.Subscription
	resp.json(t, &after)
	assert.Equal(t, "active", string(after.Status))
	e.cycle()
	for _, h := range e.sink.hooks() {
		assert.NoError(t, h.Verified, "still signed with the secret the owner holds")
	}
	assert.Len(t, e.sink.hooks(), 1, "only the owner's test event went out")
}

// A polling state works only for the connection, trigger and room it was issued for: anywhere else
// it is 400 invalid_state naming state, and never reads the other place.
func TestAPollingStateIsBoundToItsConnectionTriggerAndRoom(t *testing.T) {
	e := newEnv(t, true)
	room, other := e.room("Polled"), e.room("Elsewhere")
	first := e.call("GET", "/triggers/rooms/"+room+"/messages", e.alice.Token, nil)
	require.Equal(t, http.StatusAccepted, first.Status, string(first.Body))
	loc, err := url.Parse(first.Header.Get("Location"))
	require.NoError(t, err)
	state := loc.Query().Get("state")
	require.NotEmpty(t, state)
	roomsFirst := e.call("GET", "/triggers/rooms", e.alice.Token, nil)
	require.Equal(t, http.StatusAccepted, roomsFirst.Status)
	roomsLoc, err := url.Parse(roomsFirst.Header.Get("Location"))
	require.NoError(t, err)
	roomState := roomsLoc.Query().Get("state")

	q := "?state=" + url.QueryEscape(state)
	for name, tc := range map[string]struct{ path, token string }{
		"another connection":          {"/triggers/rooms/" + room + "/messages" + q, e.bob.Token},
		"another trigger (files)":     {"/triggers/rooms/" + room + "/files" + q, e.alice.Token},
		"another room":                {"/triggers/rooms/" + other + "/messages" + q, e.alice.Token},
		"the room trigger":            {"/triggers/rooms" + q, e.alice.Token},
		"a room state on messages":    {"/triggers/rooms/" + room + "/messages?state=" + url.QueryEscape(roomState), e.alice.Token},
		"a room state of another one": {"/triggers/rooms?state=" + url.QueryEscape(roomState), e.bob.Token},
		"an altered state":            {"/triggers/rooms/" + room + "/messages?state=" + url.QueryEscape(altered(state)), e.alice.Token},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.call("GET", tc.path, tc.token, nil)
			assert.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
			code, field := resp.errorCode(t)
			assert.Equal(t, "invalid_state", code)
			assert.Equal(t, "state", field)
		})
	}
	again := e.call("GET", "/triggers/rooms/"+room+"/messages"+q, e.alice.Token, nil)
	assert.Equal(t, http.StatusAccepted, again.Status, "the owner's state still works: %s", again.Body)
}

// Every body-taking route refuses a body over 64 KiB with 413 body_too_large saying the limit,
// before anything reaches HipChat or the store.
func TestEveryBodyTakingRouteCapsItsBody(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Capped")
	sub := e.subscribe(e.alice.Token, "messages", room)
	big := `{"message":"` + strings.Repeat("x", 64<<10) + `","callbackUrl":"` + e.sink.url() + `","since":"2020-01-01T00:00:00Z"}`
	for _, rt := range []struct{ method, path string }{
		{"POST", "/rooms/" + room + "/messages"},
		{"POST", "/subscriptions/rooms/" + room + "/messages"},
		{"POST", "/subscriptions/rooms/" + room + "/files"},
		{"POST", "/subscriptions/rooms"},
		{"POST", "/subscriptions/" + sub.ID + "/recover"},
	} {
		t.Run(rt.path, func(t *testing.T) {
			resp := e.call(rt.method, rt.path, e.alice.Token, big)
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status, string(resp.Body))
			code, _ := resp.errorCode(t)
			assert.Equal(t, "body_too_large", code)
			assert.Contains(t, string(resp.Body), "65536 bytes", "the answer says the limit")
		})
	}
	resp := e.call("GET", "/subscriptions", e.alice.Token, nil)
	var list server.SubscriptionList
	resp.json(t, &list)
	assert.Len(t, list.Items, 1, "no oversized subscribe created anything")
}

// altered is state with its last two characters changed, whatever they were.
func altered(state string) string {
	tail := "AA"
	if strings.HasSuffix(state, tail) {
		tail = "BB"
	}
	return state[:len(state)-2] + tail
}
