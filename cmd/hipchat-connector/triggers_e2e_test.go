package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logicApp polls one trigger the way Logic Apps does: the first request goes to the operation's URL,
// every later one to the exact Location of the previous answer, with the connection's token (typed
// bare, as Power Automate sends an apiKey parameter).
type logicApp struct {
	t        *testing.T
	conn     *connectorUnderTest
	token    string
	next     string // the URL of the next poll
	runs     []string
	polls    int
	lastWait string
}

func newLogicApp(t *testing.T, conn *connectorUnderTest, token, path string) *logicApp {
	return &logicApp{t: t, conn: conn, token: token, next: conn.URL + path}
}

// poll makes one poll and returns its status; a 200 starts a run per item (Split On over items).
func (a *logicApp) poll() int {
	a.t.Helper()
	a.polls++
	answer := a.conn.do("GET", strings.TrimPrefix(a.next, a.conn.URL), a.token, "")
	switch answer.Status {
	case http.StatusOK, http.StatusAccepted:
	default:
		return answer.Status
	}
	location := answer.Header.Get("Location")
	u, err := url.Parse(location)
	require.NoError(a.t, err)
	require.True(a.t, u.IsAbs(), "Location %q must be absolute", location)
	require.Equal(a.t, strings.TrimPrefix(strings.Split(a.next, "?")[0], a.conn.URL), u.Path, "Location stays on the same path")
	require.True(a.t, strings.HasPrefix(location, a.conn.URL), "Location stays on the connector's public URL")
	a.lastWait = answer.Header.Get("Retry-After")
	require.NotEmpty(a.t, a.lastWait)
	a.next = location
	if answer.Status == http.StatusOK {
		var body struct {
			Items []struct {
				ID   json.RawMessage `json:"id"`
				Name string          `json:"name"`
			} `json:"items"`
		}
		require.NoError(a.t, json.Unmarshal([]byte(answer.Body), &body))
		require.NotEmpty(a.t, body.Items)
		for _, it := range body.Items {
			a.runs = append(a.runs, strings.Trim(string(it.ID), `"`))
		}
	}
	return answer.Status
}

// pollUntilWaiting polls while Retry-After says 0 (more waits), then once more is due in 60 s.
func (a *logicApp) pollUntilWaiting() {
	a.t.Helper()
	for i := 0; i < 200; i++ {
		status := a.poll()
		require.Contains(a.t, []int{http.StatusOK, http.StatusAccepted}, status)
		if a.lastWait != "0" {
			require.Equal(a.t, "60", a.lastWait)
			return
		}
	}
	a.t.Fatal("Retry-After never left 0")
}

func (w *world) postMessages(room, n int, prefix string) []string {
	ids := make([]string, n)
	for i := range ids {
		var posted struct{ ID string }
		w.sim.mustCall("POST", fmt.Sprintf("/v2/room/%d/message", room), w.annToken, map[string]string{"message": prefix + " " + strconv.Itoa(i)}, &posted)
		ids[i] = posted.ID
	}
	return ids
}

func TestPollingTriggersOverHTTPDeliverEachMessageOnceAcrossARestart(t *testing.T) {
	w := newWorld(t)
	db := filepath.Join(t.TempDir(), "connector.db")
	conn := startConnector(t, w.sim.URL, "-db", db)
	w.postMessages(w.publicRoom, 5, "before the flow existed")

	app := newLogicApp(t, conn, w.annToken, fmt.Sprintf("/triggers/rooms/%d/messages", w.publicRoom))
	require.Equal(t, http.StatusAccepted, app.poll(), "the first poll sets the baseline")
	assert.Equal(t, "60", app.lastWait)
	require.Equal(t, http.StatusAccepted, app.poll(), "nothing new")

	want := w.postMessages(w.publicRoom, 250, "new")
	require.Equal(t, http.StatusOK, app.poll())
	assert.Equal(t, "0", app.lastWait, "a backlog drains over quick polls")
	assert.Len(t, app.runs, 100)

	// The connector restarts between two polls; the state lives in the URL (and the key in the db).
	conn.Stop()
	restarted := startConnector(t, w.sim.URL, "-db", db)
	app.next = strings.Replace(app.next, conn.URL, restarted.URL, 1)
	app.conn = restarted
	want = append(want, w.postMessages(w.publicRoom, 20, "during the restart")...)
	app.pollUntilWaiting()
	assert.Equal(t, want, app.runs, "every message after the baseline exactly once, oldest first")
}

func TestPollingTriggersRefuseForeignStates(t *testing.T) {
	w := newWorld(t)
	conn := startConnector(t, w.sim.URL)
	app := newLogicApp(t, conn, w.annToken, fmt.Sprintf("/triggers/rooms/%d/messages", w.publicRoom))
	require.Equal(t, http.StatusAccepted, app.poll())
	u, err := url.Parse(app.next)
	require.NoError(t, err)
	state := u.Query().Get("state")
	require.NotEmpty(t, state)

	cases := map[string]struct{ path, token string }{
		"forged":             {fmt.Sprintf("/triggers/rooms/%d/messages?state=%s", w.publicRoom, url.QueryEscape(state[:len(state)-3]+"AAA")), w.annToken},
		"truncated":          {fmt.Sprintf("/triggers/rooms/%d/messages?state=%s", w.publicRoom, url.QueryEscape(state[:len(state)/2])), w.annToken},
		"another room":       {fmt.Sprintf("/triggers/rooms/%d/messages?state=%s", w.privateRoom, url.QueryEscape(state)), w.annToken},
		"another trigger":    {fmt.Sprintf("/triggers/rooms/%d/files?state=%s", w.publicRoom, url.QueryEscape(state)), w.annToken},
		"another connection": {fmt.Sprintf("/triggers/rooms/%d/messages?state=%s", w.publicRoom, url.QueryEscape(state)), w.bobToken},
		"a room state":       {fmt.Sprintf("/triggers/rooms?state=%s", url.QueryEscape(state)), w.annToken},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			answer := conn.do("GET", tc.path, bearerHeader(tc.token), "")
			require.Equal(t, http.StatusBadRequest, answer.Status, answer.Body)
			code, field, message := answer.errorBody()
			assert.Equal(t, "invalid_state", code)
			assert.Equal(t, "state", field)
			assert.NotEmpty(t, message)
		})
	}
}

func TestOnNewRoomOverHTTP(t *testing.T) {
	w := newWorld(t)
	conn := startConnector(t, w.sim.URL)
	app := newLogicApp(t, conn, w.annToken, "/triggers/rooms")
	require.Equal(t, http.StatusAccepted, app.poll())
	var want []string
	for i := 0; i < 3; i++ {
		want = append(want, strconv.Itoa(w.sim.createRoom(w.annToken, "Room "+strconv.Itoa(i), "public")))
	}
	require.Equal(t, http.StatusOK, app.poll())
	assert.Equal(t, want, app.runs)
	require.Equal(t, http.StatusAccepted, app.poll())
}

func TestPollingTriggersSpendTheConnectionsBudget(t *testing.T) {
	w := newWorld(t)
	conn := startConnector(t, w.sim.URL)
	app := newLogicApp(t, conn, w.annToken, fmt.Sprintf("/triggers/rooms/%d/messages", w.publicRoom))
	require.Equal(t, http.StatusAccepted, app.poll())

	// Actions and polls share one budget: once it is spent, a poll answers 429 and asks HipChat nothing.
	for i := 0; i < 200; i++ {
		if conn.do("GET", "/users/@ann", bearerHeader(w.annToken), "").Status == http.StatusTooManyRequests {
			break
		}
	}
	before := w.sim.calls(w.annToken).Total
	answer := conn.do("GET", strings.TrimPrefix(app.next, conn.URL), w.annToken, "")
	require.Equal(t, http.StatusTooManyRequests, answer.Status, answer.Body)
	retryAfter, err := strconv.Atoi(answer.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.Positive(t, retryAfter)
	assert.Equal(t, before, w.sim.calls(w.annToken).Total)
}
