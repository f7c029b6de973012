package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A monitor, a link checker or a proxy sends HEAD where a flow sends GET: over real HTTP, HEAD of a
// GET route answers GET's status and Content-Type without a body, and HEAD of an operation that
// calls HipChat makes exactly the HipChat calls GET makes, no more.
func TestHeadAnswersAsGetWithoutABody(t *testing.T) {
	e := newEnv(t, true)
	room := e.room("Heads")
	sub := e.subscribe(e.alice.Token, "messages", room)
	alice := e.alice.Token
	for _, tc := range []struct{ path, token string }{
		{"/healthz", ""},
		{"/readyz", ""},
		{"/metrics", ""},
		{"/swagger.json", ""},
		{"/console", ""},
		{"/rooms", alice},
		{"/rooms/" + room, alice},
		{"/rooms/" + room + "/messages", alice},
		{"/users/@bob", alice},
		{"/users", alice},
		{"/connection", alice},
		{"/triggers/rooms/" + room + "/messages", alice},
		{"/triggers/rooms", alice},
		{"/subscriptions", alice},
		{"/subscriptions/" + sub.ID, alice},
		{"/subscriptions/" + sub.ID + "/deliveries", alice},
		{"/rooms", ""}, // 401 missing_token, as GET
	} {
		name := tc.path
		if tc.token == "" {
			name += " without a token"
		}
		t.Run(name, func(t *testing.T) {
			e.call("GET", tc.path, tc.token, nil) // whatever a first call of the token costs is paid here
			before := e.hipchatCalls(alice)
			get := e.call("GET", tc.path, tc.token, nil)
			byGet := e.hipchatCalls(alice) - before
			head := e.call("HEAD", tc.path, tc.token, nil)
			byHead := e.hipchatCalls(alice) - before - byGet

			require.NotEqual(t, http.StatusMethodNotAllowed, head.Status, "HEAD %s", tc.path)
			assert.Equal(t, get.Status, head.Status, "HEAD %s answers GET's status", tc.path)
			assert.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"))
			assert.Empty(t, head.Body, "HEAD %s has no body", tc.path)
			assert.Equal(t, byGet, byHead, "HEAD %s makes the HipChat calls GET makes", tc.path)
		})
	}
}

// hipchatCalls is how many requests the emulator counted for token.
func (e *env) hipchatCalls(token string) int {
	e.t.Helper()
	calls, err := e.sim.CallsOf(e.ctx, token)
	require.NoError(e.t, err)
	return calls.Total
}
