package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

func TestEveryRequestHasAnIDEchoedAndLogged(t *testing.T) {
	logs := &testkit.SyncBuffer{}
	srv := startServer(t, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	base := "http://" + srv.Addr().String()

	for name, tc := range map[string]struct {
		sent string
		kept bool
	}{
		"sent":         {"7f1c2a9e-3b1d-4c55-9e4a-2f0c1d7a8b90", true},
		"trace id":     {"00f067aa0ba902b7", true},
		"none":         {"", false},
		"too long":     {strings.Repeat("a", 129), false},
		"line breaker": {"abc\",\"level\":\"ERROR", false},
		"spaces":       {"a b", false},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest("GET", base+"/healthz", nil)
			require.NoError(t, err)
			if tc.sent != "" {
				req.Header.Set("X-Request-Id", tc.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			got := resp.Header.Get("X-Request-Id")
			if tc.kept {
				assert.Equal(t, tc.sent, got)
			} else {
				assert.Regexp(t, `^[0-9a-f]{32}$`, got, "a new one")
			}
			assert.True(t, loggedRequestID(t, logs.String(), got), "the access log names %s", got)
		})
	}
}

func loggedRequestID(t *testing.T, logs, id string) bool {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var entry struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		if entry.Msg == "request" && entry.RequestID == id {
			return true
		}
	}
	return false
}

// A doorbell URL carries its secret in the last segment. The access log hides it whatever the
// request made of the URL: another method than POST (a browser, a link checker, a proxy's probe)
// or a path a little off (a trailing slash, a doubled slash, one more segment) answers 404 or 405
// without matching the doorbell route, and must not log the secret either.
func TestTheAccessLogHidesADoorbellSecretOnEveryPath(t *testing.T) {
	logs := &testkit.SyncBuffer{}
	srv := startServer(t, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	base := "http://" + srv.Addr().String()
	const secret = "5f0c1d7a8b907f1c2a9e3b1d4c559e4a"

	for _, tc := range []struct{ method, path string }{
		{"POST", "/hipchat/rooms/feed1/" + secret},
		{"GET", "/hipchat/rooms/feed1/" + secret},
		{"HEAD", "/hipchat/rooms/feed1/" + secret},
		{"PUT", "/hipchat/rooms/feed1/" + secret},
		{"POST", "/hipchat/rooms/feed1/" + secret + "/"},
		{"POST", "/hipchat/rooms/feed1//" + secret},
		{"POST", "/hipchat/rooms/feed1/" + secret + "/more"},
	} {
		req, err := http.NewRequest(tc.method, base+tc.path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.GreaterOrEqual(t, resp.StatusCode, 400, "%s %s", tc.method, tc.path)
	}
	assert.NotContains(t, logs.String(), secret, "the doorbell secret is in the access log")
}
