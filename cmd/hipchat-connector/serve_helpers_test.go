package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
)

// simUnderTest is the HipChat v2 emulator over real HTTP, driven through its HipChat API (with
// simclient) as a test would drive a real HipChat; every helper fails the test on an error.
type simUnderTest struct {
	tb     testing.TB
	URL    string
	admin  string
	client *simclient.Client
}

// startEmulator starts the emulator with every rate limit off, so HipChat's own budget never
// interferes with the connector's.
func startEmulator(tb testing.TB) *simUnderTest {
	tb.Helper()
	sim, err := hipchatsim.New(hipchatsim.Options{})
	require.NoError(tb, err)
	ts := httptest.NewServer(sim)
	tb.Cleanup(ts.Close)
	return &simUnderTest{tb: tb, URL: ts.URL, admin: sim.AdminToken(), client: simclient.New(ts.URL)}
}

// mustCall makes one request that must answer 2xx and decodes a JSON answer into out (when not nil).
func (e *simUnderTest) mustCall(method, path, token string, body any, out any) {
	e.tb.Helper()
	require.NoError(e.tb, e.client.Do(context.Background(), method, path, token, body, out))
}

// createUser creates a user with a password (as the group admin) and returns its id.
func (e *simUnderTest) createUser(name, mention, email, password string) int {
	e.tb.Helper()
	id, err := e.client.CreateUser(context.Background(), e.admin, simclient.NewUser{Name: name, MentionName: mention, Email: email, Password: password})
	require.NoError(e.tb, err)
	return id
}

// userToken logs the user in (grant_type=password) and returns a user token with scopes (all when "").
func (e *simUnderTest) userToken(email, password, scopes string) string {
	e.tb.Helper()
	token, err := e.client.PasswordToken(context.Background(), email, password, scopes)
	require.NoError(e.tb, err)
	return token
}

// personalToken issues a personal token for user (id, email or @mention) with the admin's token.
func (e *simUnderTest) personalToken(user string) string {
	e.tb.Helper()
	token, err := e.client.PersonalToken(context.Background(), e.admin, user)
	require.NoError(e.tb, err)
	return token
}

// createRoom creates a room owned by the token's user and returns its id.
func (e *simUnderTest) createRoom(token, name, privacy string) int {
	e.tb.Helper()
	id, err := e.client.CreateRoom(context.Background(), token, name, privacy)
	require.NoError(e.tb, err)
	return id
}

// calls returns what the emulator counted for token (zeros when it made no call).
func (e *simUnderTest) calls(token string) simclient.TokenCalls {
	e.tb.Helper()
	c, err := e.client.CallsOf(context.Background(), token)
	require.NoError(e.tb, err)
	return c
}

// fault injects a fault until clearFaults.
func (e *simUnderTest) fault(f simclient.Fault) {
	e.tb.Helper()
	require.NoError(e.tb, e.client.InjectFault(context.Background(), f))
}

func (e *simUnderTest) clearFaults() {
	e.tb.Helper()
	require.NoError(e.tb, e.client.ClearFaults(context.Background()))
}

// lockedBuffer is a bytes.Buffer safe for the program writing and the test reading at once.
type lockedBuffer = testkit.SyncBuffer

// connectorUnderTest is the whole program running `serve` on 127.0.0.1:0.
type connectorUnderTest struct {
	URL    string
	Stdout *lockedBuffer
	Logs   *lockedBuffer // stderr: the JSON log
	http   *http.Client
	tb     testing.TB
	// Stop shuts the program down (as SIGTERM would) and waits for it; the test's cleanup calls it too.
	Stop func()
}

// startConnector runs `hipchat-connector serve -addr 127.0.0.1:0 -hipchat-url hipchatURL args...`
// through run, waits for its "listening on" line and /readyz, and stops it when the test ends
// (requiring a clean shutdown).
func startConnector(tb testing.TB, hipchatURL string, args ...string) *connectorUnderTest {
	tb.Helper()
	c := &connectorUnderTest{Stdout: &lockedBuffer{}, Logs: &lockedBuffer{}, tb: tb}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	c.http = &http.Client{Transport: transport, Timeout: 30 * time.Second}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	argv := append([]string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", hipchatURL, "-db", filepath.Join(tb.TempDir(), "connector.db")}, args...)
	go func() { done <- run(ctx, argv, func(string) string { return "" }, c.Stdout, c.Logs) }()
	var stopOnce sync.Once
	c.Stop = func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("serve returned %v", err)
				}
			case <-time.After(30 * time.Second):
				tb.Errorf("serve did not stop")
			}
		})
	}
	tb.Cleanup(c.Stop)

	deadline := time.Now().Add(10 * time.Second)
	for c.URL == "" {
		if line, ok := strings.CutPrefix(c.Stdout.String(), "listening on "); ok && strings.HasSuffix(line, "\n") {
			c.URL = strings.TrimSpace(line)
			break
		}
		select {
		case err := <-done:
			tb.Fatalf("serve stopped before listening: %v\nstderr: %s", err, c.Logs)
		default:
		}
		require.True(tb, time.Now().Before(deadline), "no 'listening on' line; stderr: %s", c.Logs)
		time.Sleep(5 * time.Millisecond)
	}
	require.Eventually(tb, func() bool {
		resp, err := c.http.Get(c.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 5*time.Millisecond)
	return c
}

// connectorAnswer is one response of the connector.
type connectorAnswer struct {
	Status int
	Header http.Header
	Body   string
}

// errorBody reads the connector's error shape.
func (a connectorAnswer) errorBody() (code, field, message string) {
	var body struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(a.Body), &body)
	return body.Error.Code, body.Error.Field, body.Error.Message
}

// do calls the connector with an Authorization header value (none when empty) and a raw body.
func (c *connectorUnderTest) do(method, path, authorization string, body string) connectorAnswer {
	c.tb.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.URL+path, reader)
	require.NoError(c.tb, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	require.NoError(c.tb, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.tb, err)
	return connectorAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
}

func bearerHeader(token string) string { return "Bearer " + token }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return string(b)
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// waitListening waits for the "listening on http://ADDR" line and returns the URL.
func waitListening(tb testing.TB, stdout *lockedBuffer) string {
	tb.Helper()
	var base string
	require.Eventually(tb, func() bool {
		line, ok := strings.CutPrefix(stdout.String(), "listening on ")
		if !ok || !strings.HasSuffix(line, "\n") {
			return false
		}
		base = strings.TrimSpace(line)
		return true
	}, 10*time.Second, 5*time.Millisecond)
	return base
}
