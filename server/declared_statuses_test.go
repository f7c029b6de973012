package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/swagger"
)

// statusProbe is what a probe sends to one operation: a query its trigger needs and a body it
// takes, both valid, so that the operation gets as far as HipChat.
type statusProbe struct {
	query string
	body  map[string]any
}

// statusProbes has one probe for every operation of the definition (the test says which is
// missing): a new operation gets its probe here.
var statusProbes = map[string]statusProbe{
	"ListRooms": {}, "ListUsers": {}, "GetUserByID": {}, "AddUserToRoom": {}, "RemoveUserFromRoom": {},
	"GetRoom": {}, "GetRecentMessages": {}, "ListAllUsers": {}, "TestConnection": {},
	"CreateRoom":         {body: map[string]any{"name": "Probe"}},
	"PostMessage":        {body: map[string]any{"message": "probe"}},
	"SendNotification":   {body: map[string]any{"message": "probe"}},
	"ReplyToMessage":     {body: map[string]any{"message": "probe", "parentMessageId": "{messageId}"}},
	"SendPrivateMessage": {body: map[string]any{"message": "probe"}},
	"ShareLinkWithRoom":  {body: map[string]any{"link": "https://example.com/notes"}},
	"ShareFileWithRoom":  {body: map[string]any{"fileName": "notes.txt", "fileContent": "aGVsbG8="}},
	"SetRoomTopic":       {body: map[string]any{"topic": "probe"}},
	"InviteUserToRoom":   {body: map[string]any{"reason": "probe"}},
	"OnNewMessage":       {}, "OnMention": {}, "OnNewFile": {}, "OnNewRoom": {},
	"OnKeyword":           {query: "?keywords=deploy"},
	"OnNewMessageWebhook": {body: map[string]any{"callbackUrl": "{callbackUrl}"}},
	"OnMentionWebhook":    {body: map[string]any{"callbackUrl": "{callbackUrl}"}},
	"OnKeywordWebhook":    {body: map[string]any{"callbackUrl": "{callbackUrl}", "keywords": "deploy"}},
	"OnNewFileWebhook":    {body: map[string]any{"callbackUrl": "{callbackUrl}"}},
	"OnNewRoomWebhook":    {body: map[string]any{"callbackUrl": "{callbackUrl}"}},
	"ListSubscriptions":   {}, "GetSubscription": {}, "DeleteSubscription": {}, "ListDeliveries": {},
	"ResendDelivery": {}, "SendTestEvent": {}, "PauseSubscription": {}, "ResumeSubscription": {},
	"RotateSubscriptionSecret": {},
	"RecoverDeliveries":        {body: map[string]any{"since": "2020-01-01T00:00:00Z"}},
}

// statusWorld is the HTTP API in front of the emulator with a short HipChat timeout and a small
// file limit, so that a probe can make HipChat too slow and a body too large for every route.
type statusWorld struct {
	t       *testing.T
	ctx     context.Context
	api     *httptest.Server
	sim     *simclient.Client
	alice   simclient.Person
	room    string
	message string // a message of room
	hook    string // a callback URL
	n       int
}

// statusTimeout bounds a HipChat call; statusDelay, the delay of a slow HipChat, is well past it.
const (
	statusTimeout = 250 * time.Millisecond
	statusDelay   = 1000
	statusMaxBody = 64 << 10
)

func newStatusWorld(t *testing.T) *statusWorld {
	t.Helper()
	gin.SetMode(gin.TestMode)
	w := &statusWorld{t: t, ctx: context.Background()}
	emu, err := hipchatsim.New(hipchatsim.Options{})
	require.NoError(t, err)
	hipchat := httptest.NewServer(emu)
	t.Cleanup(hipchat.Close)
	w.sim = simclient.New(hipchat.URL)
	w.alice, err = w.sim.NewPerson(w.ctx, emu.AdminToken(), "Alice Example", "alice")
	require.NoError(t, err)
	_, err = w.sim.NewPerson(w.ctx, emu.AdminToken(), "Bob Example", "bob")
	require.NoError(t, err)
	room, err := w.sim.CreateRoom(w.ctx, w.alice.Token, "Probed", "private")
	require.NoError(t, err)
	w.room = strconv.Itoa(room)
	w.message, err = w.sim.PostMessage(w.ctx, w.alice.Token, w.room, "a message to reply to")
	require.NoError(t, err)
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(sink.Close)
	w.hook = sink.URL + "/hook"

	client := connector.NewClient(connector.ClientOptions{Timeout: statusTimeout,
		Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})})
	w.api = httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Options{HipChatURL: hipchat.URL, PublicURL: "http://" + w.api.Listener.Addr().String(),
		AllowPrivateCallbacks: true, MaxBodyBytes: statusMaxBody, MaxFileBytes: 1 << 10, Logger: slog.New(slog.DiscardHandler)},
		server.Deps{Client: client, StateKey: bytes.Repeat([]byte{5}, 32), Store: testkit.OpenStore(t, time.Now)})
	require.NoError(t, err)
	w.api.Config.Handler = srv.Handler()
	w.api.Start()
	t.Cleanup(w.api.Close)
	return w
}

// target is op's path with its parameters filled in: the room, @bob, a new subscription of
// alice's (made while HipChat is healthy), a delivery id.
func (w *statusWorld) target(op swagger.Operation, query string) string {
	w.t.Helper()
	path := strings.NewReplacer("{roomId}", w.room, "{userId}", "@bob", "{deliveryId}", "1").Replace(op.Path)
	if strings.Contains(path, "{subscriptionId}") {
		resp := w.call("POST", "/subscriptions/rooms/"+w.room+"/messages", map[string]any{"callbackUrl": w.hook})
		require.Equal(w.t, http.StatusCreated, resp.Status, string(resp.Body))
		var sub struct{ ID string }
		require.NoError(w.t, json.Unmarshal(resp.Body, &sub))
		path = strings.ReplaceAll(path, "{subscriptionId}", sub.ID)
	}
	return path + query
}

// body is the probe's body with its placeholders filled in, and a room name of its own.
func (w *statusWorld) body(p statusProbe) any {
	if p.body == nil {
		return nil
	}
	w.n++
	out := map[string]any{}
	for k, v := range p.body {
		switch {
		case v == "{callbackUrl}":
			v = w.hook
		case v == "{messageId}":
			v = w.message
		case k == "name":
			v = fmt.Sprintf("%s %d", v, w.n)
		}
		out[k] = v
	}
	return out
}

// call makes a request as alice with body (JSON-encoded unless a string).
func (w *statusWorld) call(method, path string, body any) response {
	w.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(w.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(w.ctx, method, w.api.URL+path, reader)
	require.NoError(w.t, err)
	req.Header.Set("Authorization", "Bearer "+w.alice.Token)
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// declaredStatuses are the statuses the definition declares for each operation, by operationId.
func declaredStatuses(t *testing.T) map[string][]int {
	t.Helper()
	raw, err := swagger.Definition("http://connector.test")
	require.NoError(t, err)
	var def struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &def))
	out := map[string][]int{}
	for _, item := range def.Paths {
		for _, rawOp := range item {
			var op struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if json.Unmarshal(rawOp, &op) != nil || op.OperationID == "" {
				continue
			}
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err == nil {
					out[op.OperationID] = append(out[op.OperationID], n)
				}
			}
			slices.Sort(out[op.OperationID])
		}
	}
	return out
}

// Every status an operation answers is one the definition declares for it, so that a client
// generated from the definition types it and a flow can branch on it: probed over real HTTP for
// every operation with a valid request, a body over the limit, and a valid request while HipChat
// is too slow (413 body_too_large and 504 upstream_timeout are answered by the server's own code,
// not HipChat's).
func TestEveryOperationAnswersOnlyStatusesItDeclares(t *testing.T) {
	w := newStatusWorld(t)
	declared := declaredStatuses(t)
	ops, err := swagger.Operations()
	require.NoError(t, err)
	tooLarge := `{"message":"` + strings.Repeat("x", 2*statusMaxBody) + `"}`
	for _, op := range ops {
		probe, ok := statusProbes[op.ID]
		if !assert.True(t, ok, "%s has no probe in statusProbes", op.ID) {
			continue
		}
		t.Run(op.ID, func(t *testing.T) {
			answered := map[string]response{}
			answered["a valid request"] = w.call(op.Method, w.target(op, probe.query), w.body(probe))
			answered["a body over the limit"] = w.call(op.Method, w.target(op, probe.query), tooLarge)
			target, body := w.target(op, probe.query), w.body(probe)
			require.NoError(t, w.sim.InjectFault(w.ctx, simclient.Fault{DelayMS: statusDelay}))
			answered["HipChat too slow"] = w.call(op.Method, target, body)
			require.NoError(t, w.sim.ClearFaults(w.ctx))
			for what, resp := range answered {
				assert.Contains(t, declared[op.ID], resp.Status, "%s %s: %s is answered %d, which the definition does not declare (it declares %v): %s",
					op.Method, op.Path, what, resp.Status, declared[op.ID], resp.Body)
			}
		})
	}
}
