package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// world is a HipChat group for end-to-end tests: Ann owns a private room with Bob in it, and there is
// a public room; each has a user token with every scope.
type world struct {
	sim                     *simUnderTest
	annID, bobID, carolID   int
	annToken, bobToken      string
	privateRoom, publicRoom int
}

const testPassword = "correct horse battery staple"

func newWorld(t *testing.T) *world {
	t.Helper()
	sim := startEmulator(t)
	w := &world{sim: sim}
	w.annID = sim.createUser("Ann Example", "ann", "ann@example.com", testPassword)
	w.bobID = sim.createUser("Bob Example", "bob", "bob@example.com", testPassword)
	w.carolID = sim.createUser("Carol Example", "carol", "carol@example.com", testPassword)
	w.annToken = sim.userToken("ann@example.com", testPassword, "")
	w.bobToken = sim.userToken("bob@example.com", testPassword, "")
	w.privateRoom = sim.createRoom(w.annToken, "Ops Private", "private")
	w.publicRoom = sim.createRoom(w.annToken, "General", "public")
	sim.mustCall("PUT", fmt.Sprintf("/v2/room/%d/member/%d", w.privateRoom, w.bobID), w.annToken, map[string]any{}, nil)
	return w
}

func TestServeActions(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL)
	auth := bearerHeader(w.annToken)

	t.Run("ListRooms", func(t *testing.T) {
		a := c.do("GET", "/rooms", auth, "")
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		var list struct {
			Items []struct {
				ID         *int    `json:"id"`
				Name       *string `json:"name"`
				Privacy    *string `json:"privacy"`
				IsArchived *bool   `json:"is_archived"`
			} `json:"items"`
		}
		require.NoError(t, json.Unmarshal([]byte(a.Body), &list))
		byName := map[string]string{}
		for _, r := range list.Items {
			require.NotNil(t, r.ID)
			require.NotNil(t, r.Name)
			require.NotNil(t, r.Privacy)
			require.NotNil(t, r.IsArchived)
			byName[*r.Name] = *r.Privacy + "/" + strconv.Itoa(*r.ID)
		}
		assert.Equal(t, "private/"+strconv.Itoa(w.privateRoom), byName["Ops Private"])
		assert.Equal(t, "public/"+strconv.Itoa(w.publicRoom), byName["General"])
	})

	t.Run("ListUsers", func(t *testing.T) {
		for _, room := range []string{strconv.Itoa(w.privateRoom), "Ops%20Private"} {
			a := c.do("GET", "/rooms/"+room+"/members", auth, "")
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			assert.JSONEq(t, mustJSON(map[string]any{"items": []map[string]any{
				{"id": w.annID, "mention_name": "ann", "name": "Ann Example"},
				{"id": w.bobID, "mention_name": "bob", "name": "Bob Example"},
			}}), a.Body, "room %s", room)
		}
	})

	t.Run("GetUserByID", func(t *testing.T) {
		want := map[string]any{"email": "bob@example.com", "id": w.bobID, "mention_name": "bob", "name": "Bob Example"}
		for _, ref := range []string{strconv.Itoa(w.bobID), "bob@example.com", "@bob"} {
			a := c.do("GET", "/users/"+ref, auth, "")
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(a.Body), &got))
			for k, v := range want {
				assert.EqualValues(t, v, got[k], "%s of user %s", k, ref)
			}
		}
	})

	t.Run("PostMessage", func(t *testing.T) {
		a := c.do("POST", fmt.Sprintf("/rooms/%d/messages", w.privateRoom), auth, `{"message":"deploy done ✓"}`)
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		var posted struct{ ID, Timestamp string }
		require.NoError(t, json.Unmarshal([]byte(a.Body), &posted))
		assert.NotEmpty(t, posted.ID)
		assert.NotEmpty(t, posted.Timestamp)

		var history struct {
			Items []struct {
				ID      string `json:"id"`
				Message string `json:"message"`
				From    struct {
					ID int `json:"id"`
				} `json:"from"`
			} `json:"items"`
		}
		w.sim.mustCall("GET", fmt.Sprintf("/v2/room/%d/history/latest", w.privateRoom), w.annToken, nil, &history)
		require.NotEmpty(t, history.Items)
		last := history.Items[len(history.Items)-1]
		assert.Equal(t, posted.ID, last.ID)
		assert.Equal(t, "deploy done ✓", last.Message)
		assert.Equal(t, w.annID, last.From.ID, "posted as the token's user")
	})

	t.Run("AddUserToRoom", func(t *testing.T) {
		a := c.do("PUT", fmt.Sprintf("/rooms/%d/members/carol@example.com", w.privateRoom), auth, "")
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		var confirmation string
		require.NoError(t, json.Unmarshal([]byte(a.Body), &confirmation), "the answer is a JSON string")
		assert.Equal(t, fmt.Sprintf("User carol@example.com was added to room %d", w.privateRoom), confirmation)

		members := c.do("GET", fmt.Sprintf("/rooms/%d/members", w.privateRoom), auth, "")
		assert.Contains(t, members.Body, `"mention_name":"carol"`)
		again := c.do("PUT", fmt.Sprintf("/rooms/%d/members/@carol", w.privateRoom), auth, "")
		assert.Equal(t, http.StatusOK, again.Status, "adding a member again is no error")
	})

	t.Run("bare token", func(t *testing.T) {
		a := c.do("GET", "/users/@ann", w.annToken, "")
		assert.Equal(t, http.StatusOK, a.Status, "Power Automate sends the token as typed")
	})

	assertNoToken(t, c, w.annToken)
}

func TestServeErrors(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL)
	auth := bearerHeader(w.annToken)
	private := strconv.Itoa(w.privateRoom)
	scopeless := w.sim.userToken("ann@example.com", testPassword, "send_notification")
	tooLong := strings.Repeat("é", 1001)

	for _, tc := range []struct {
		name, method, path, auth, body string
		status                         int
		code, field                    string
		says                           string // in the message
	}{
		{"no token", "GET", "/rooms", "", "", 401, "missing_token", "", "token"},
		{"empty bearer", "GET", "/rooms", "Bearer ", "", 401, "missing_token", "", "token"},
		{"token rejected by HipChat", "GET", "/rooms", bearerHeader("not-a-real-token"), "", 401, "token_rejected", "", "rejected"},
		{"scope missing", "GET", "/rooms/" + private + "/members", bearerHeader(scopeless), "", 403, "scope_missing", "", "scope"},
		{"unknown room", "GET", "/rooms/999999/members", auth, "", 404, "room_not_found", "roomId", "not found"},
		{"unknown room by name", "POST", "/rooms/No%20Such%20Room/messages", auth, `{"message":"hi"}`, 404, "room_not_found", "roomId", "not found"},
		{"unknown user", "GET", "/users/nobody@example.com", auth, "", 404, "user_not_found", "userId", "not found"},
		{"add unknown user", "PUT", "/rooms/" + private + "/members/@nobody", auth, "", 404, "user_not_found", "userId", "not found"},
		{"add to unknown room", "PUT", "/rooms/999999/members/@bob", auth, "", 404, "room_not_found", "roomId", "not found"},
		{"members of a public room", "GET", fmt.Sprintf("/rooms/%d/members", w.publicRoom), auth, "", 400, "bad_request", "", "HipChat: "},
		{"blank roomId (members)", "GET", "/rooms/%20/members", auth, "", 400, "missing_field", "roomId", "roomId"},
		{"empty roomId (members)", "GET", "/rooms//members", auth, "", 400, "missing_field", "roomId", "roomId"},
		{"blank roomId (message)", "POST", "/rooms/%20%20/messages", auth, `{"message":"hi"}`, 400, "missing_field", "roomId", "roomId"},
		{"blank roomId (add)", "PUT", "/rooms/%20/members/@bob", auth, "", 400, "missing_field", "roomId", "roomId"},
		{"blank userId (add)", "PUT", "/rooms/" + private + "/members/%20", auth, "", 400, "missing_field", "userId", "userId"},
		{"blank userId", "GET", "/users/%20", auth, "", 400, "missing_field", "userId", "userId"},
		{"no body", "POST", "/rooms/" + private + "/messages", auth, "", 400, "missing_field", "message", "message"},
		{"body not JSON", "POST", "/rooms/" + private + "/messages", auth, "message=hi", 400, "invalid_json", "message", "JSON"},
		{"body a JSON string", "POST", "/rooms/" + private + "/messages", auth, `"hi"`, 400, "invalid_json", "message", "JSON"},
		{"message missing", "POST", "/rooms/" + private + "/messages", auth, `{"text":"hi"}`, 400, "missing_field", "message", "message"},
		{"message blank", "POST", "/rooms/" + private + "/messages", auth, `{"message":" \n\t"}`, 400, "missing_field", "message", "message"},
		{"message not a string", "POST", "/rooms/" + private + "/messages", auth, `{"message":42}`, 400, "invalid_field", "message", "string"},
		{"message too long", "POST", "/rooms/" + private + "/messages", auth, mustJSON(map[string]string{"message": tooLong}), 400, "field_too_long", "message", "1000"},
		{"body too large", "POST", "/rooms/" + private + "/messages", auth, `{"message":"hi","pad":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "body_too_large", "", "larger"},
		{"unknown route", "GET", "/nope", auth, "", 404, "route_not_found", "", "/nope"},
		{"wrong method", "DELETE", "/rooms", auth, "", 405, "method_not_allowed", "", "DELETE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.sim.calls(w.annToken).Total
			a := c.do(tc.method, tc.path, tc.auth, tc.body)
			assert.Equal(t, tc.status, a.Status, a.Body)
			code, field, message := a.errorBody()
			assert.Equal(t, tc.code, code, a.Body)
			assert.Equal(t, tc.field, field, a.Body)
			assert.Contains(t, message, tc.says)
			assert.NotContains(t, a.Body, w.annToken, "a token reached an error answer")
			assert.NotContains(t, a.Body, scopeless, "a token reached an error answer")
			if tc.status == 400 && tc.code != "bad_request" || tc.status == 413 {
				assert.Equal(t, before, w.sim.calls(w.annToken).Total, "bad input is refused without calling HipChat")
			}
		})
	}

	t.Run("message of exactly 1000 characters", func(t *testing.T) {
		a := c.do("POST", "/rooms/"+private+"/messages", auth, mustJSON(map[string]string{"message": strings.Repeat("é", 1000)}))
		assert.Equal(t, http.StatusOK, a.Status, a.Body)
	})

	t.Run("HipChat failing is a 502", func(t *testing.T) {
		w.sim.fault(simclient.Fault{TokenSHA256: simclient.TokenSHA256(w.annToken), Status: 500, Rate: 1})
		defer w.sim.clearFaults()
		for _, path := range []string{"/rooms", "/users/@bob"} {
			a := c.do("GET", path, auth, "")
			assert.Equal(t, http.StatusBadGateway, a.Status, a.Body)
			code, _, _ := a.errorBody()
			assert.Equal(t, "upstream_unavailable", code)
		}
		a := c.do("POST", "/rooms/"+private+"/messages", auth, `{"message":"hi"}`)
		assert.Equal(t, http.StatusBadGateway, a.Status, a.Body)
		other := c.do("GET", "/users/@bob", bearerHeader(w.bobToken), "")
		assert.Equal(t, http.StatusOK, other.Status, "the fault is Ann's token's only")
	})

	t.Run("HipChat throttling is a 429", func(t *testing.T) {
		w.sim.fault(simclient.Fault{TokenSHA256: simclient.TokenSHA256(w.bobToken), Status: 429, Rate: 1})
		defer w.sim.clearFaults()
		a := c.do("GET", "/users/@ann", bearerHeader(w.bobToken), "")
		assert.Equal(t, http.StatusTooManyRequests, a.Status, a.Body)
		code, _, _ := a.errorBody()
		assert.Equal(t, "rate_limited", code)
		retryAfter, err := strconv.Atoi(a.Header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After is whole seconds")
		assert.Positive(t, retryAfter)
	})

	assertNoToken(t, c, w.annToken, scopeless, w.bobToken)
}

func TestServeLimiterKeepsEachConnectionWithinItsBudget(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL)

	// 300 actions at once against Ann's connection (which made a few calls to set the world up).
	const burst = 300
	setup := w.sim.calls(w.annToken).Total
	var mu sync.Mutex
	statuses := map[int]int{}
	var retryAfters []string
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				path := "/users/@bob"
				if i%3 == 1 {
					path = fmt.Sprintf("/rooms/%d/members", w.privateRoom)
				}
				a := c.do("GET", path, bearerHeader(w.annToken), "")
				mu.Lock()
				statuses[a.Status]++
				if a.Status == http.StatusTooManyRequests {
					retryAfters = append(retryAfters, a.Header.Get("Retry-After"))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range burst {
		work <- i
	}
	close(work)
	wg.Wait()

	calls := w.sim.calls(w.annToken)
	assert.LessOrEqual(t, calls.MaxInAny60s, 100, "HipChat never saw more than 100 calls of one connection in 60 s")
	assert.Equal(t, setup+statuses[http.StatusOK], calls.Total, "each answered action made one call; refused ones none")
	assert.Positive(t, statuses[http.StatusOK])
	assert.Equal(t, burst, statuses[http.StatusOK]+statuses[http.StatusTooManyRequests], "only 200s and 429s: %v", statuses)
	require.Len(t, retryAfters, burst-statuses[http.StatusOK])
	for _, v := range retryAfters {
		s, err := strconv.Atoi(v)
		require.NoError(t, err, "Retry-After %q", v)
		assert.True(t, s >= 1 && s <= 62, "Retry-After %d s: when the oldest call leaves the 61 s window", s)
	}

	// Bob's connection has its own budget.
	a := c.do("GET", "/users/@ann", bearerHeader(w.bobToken), "")
	assert.Equal(t, http.StatusOK, a.Status, a.Body)
	assert.Equal(t, 1, w.sim.calls(w.bobToken).Total)
	// And Ann's is still spent.
	a = c.do("GET", "/users/@ann", bearerHeader(w.annToken), "")
	assert.Equal(t, http.StatusTooManyRequests, a.Status)
	assert.Equal(t, calls.Total, w.sim.calls(w.annToken).Total, "a refused action makes no HipChat call")

	assertNoToken(t, c, w.annToken, w.bobToken)
}

func TestServeServiceRoutes(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-public-url", "https://connector.example.com/hipchat")

	assert.Equal(t, http.StatusOK, c.do("GET", "/healthz", "", "").Status)
	assert.Equal(t, http.StatusOK, c.do("GET", "/readyz", "", "").Status)

	def := c.do("GET", "/swagger.json", "", "")
	require.Equal(t, http.StatusOK, def.Status)
	var doc struct {
		Host     string `json:"host"`
		BasePath string `json:"basePath"`
	}
	require.NoError(t, json.Unmarshal([]byte(def.Body), &doc))
	assert.Equal(t, "connector.example.com", doc.Host)
	assert.Equal(t, "/hipchat", doc.BasePath)

	require.Equal(t, http.StatusOK, c.do("GET", "/users/@bob", bearerHeader(w.annToken), "").Status)
	require.Equal(t, http.StatusNotFound, c.do("GET", "/users/@nobody", bearerHeader(w.annToken), "").Status)
	metrics := c.do("GET", "/metrics", "", "").Body
	assert.Contains(t, metrics, `hipchat_connector_http_requests_total{method="GET",route="/users/:userId",status="200"} 1`)
	assert.Contains(t, metrics, `hipchat_connector_http_requests_total{method="GET",route="/users/:userId",status="404"} 1`)
	assert.Contains(t, metrics, `hipchat_connector_upstream_calls_total{kind="ok"} 1`)
	assert.Contains(t, metrics, `hipchat_connector_upstream_calls_total{kind="not_found"} 1`)
	assert.Contains(t, metrics, "hipchat_connector_http_request_duration_seconds_bucket")
}

func TestServeDefaultsPublicURLToTheBoundAddress(t *testing.T) {
	sim := startEmulator(t)
	c := startConnector(t, sim.URL)
	var doc struct{ Host string }
	require.NoError(t, json.Unmarshal([]byte(c.do("GET", "/swagger.json", "", "").Body), &doc))
	assert.Equal(t, strings.TrimPrefix(c.URL, "http://"), doc.Host)
}

func TestServeFinishesRequestsInFlightOnShutdown(t *testing.T) {
	w := newWorld(t)
	w.sim.fault(simclient.Fault{DelayMS: 1000})
	// HipChat behind a proxy that says when the action's call has reached it: the shutdown starts
	// then, while the action waits for the answer, however long the request took to get there.
	target, err := url.Parse(w.sim.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	reached := make(chan struct{}, 1)
	hipchat := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/user/@bob" {
			select {
			case reached <- struct{}{}:
			default:
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(hipchat.Close)
	var stdout, stderr lockedBuffer
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", hipchat.URL, "-db", filepath.Join(t.TempDir(), "connector.db")}, func(string) string { return "" }, &stdout, &stderr)
	}()
	base := waitListening(t, &stdout)

	result := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/users/@bob", nil)
		req.Header.Set("Authorization", bearerHeader(w.annToken))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- 0
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	// HipChat takes a second to answer; the shutdown starts while the action waits for it.
	<-reached
	cancel()
	assert.Equal(t, http.StatusOK, <-result, "the request in flight got its answer")
	assert.NoError(t, <-done)
	_, err = net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	assert.Error(t, err, "nothing listens any more")
}

func TestServeFlags(t *testing.T) {
	sim := startEmulator(t)
	t.Run("from the environment", func(t *testing.T) {
		var stdout, stderr lockedBuffer
		ctx, cancel := contextWithCancel()
		done := make(chan error, 1)
		env := map[string]string{"HIPCHAT_CONNECTOR_ADDR": "127.0.0.1:0", "HIPCHAT_CONNECTOR_HIPCHAT_URL": sim.URL,
			"HIPCHAT_CONNECTOR_PUBLIC_URL": "https://env.example.com", "HIPCHAT_CONNECTOR_POLL_SCHEDULE": "@every 30s",
			"HIPCHAT_CONNECTOR_DB": filepath.Join(t.TempDir(), "env.db")}
		go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
		base := waitListening(t, &stdout)
		resp, err := http.Get(base + "/swagger.json")
		require.NoError(t, err)
		var doc struct{ Host string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		resp.Body.Close()
		assert.Equal(t, "env.example.com", doc.Host)
		assert.Contains(t, stderr.String(), `"poll_schedule":"@every 30s"`)
		cancel()
		assert.NoError(t, <-done)
	})

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"busy port":           {[]string{"-addr", busy.Addr().String()}, "listen"},
		"bad hipchat url":     {[]string{"-hipchat-url", "api.hipchat.com"}, "hipchat-url"},
		"bad public url":      {[]string{"-public-url", "connector.example.com"}, "public-url"},
		"bad poll schedule":   {[]string{"-poll-schedule", "every minute"}, "poll-schedule"},
		"bad bool":            {[]string{"-allow-private-callbacks=maybe"}, "usage"},
		"unexpected argument": {[]string{"extra"}, "usage"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"serve", "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "connector.db")}, tc.args...), func(string) string { return "" }, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, stdout.String(), "listening on", "nothing was served")
		})
	}

	t.Run("help", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(t.Context(), []string{"serve", "-h"}, func(string) string { return "" }, &stdout, &stderr))
		for _, flag := range []string{"-addr", "-db", "-hipchat-url", "-public-url", "-poll-schedule", "-allow-private-callbacks", "HIPCHAT_CONNECTOR_"} {
			assert.Contains(t, stderr.String(), flag)
		}
	})
}

// assertNoToken checks that no token appears in the connector's logs: the full run of the test,
// actions and errors, has been logged by then.
func assertNoToken(t *testing.T, c *connectorUnderTest, tokens ...string) {
	t.Helper()
	logs := c.Logs.String()
	require.Contains(t, logs, `"msg":"request"`, "the access log was captured")
	for _, token := range tokens {
		assert.NotContains(t, logs, token, "a token reached the log")
	}
}
