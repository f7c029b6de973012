package server

import (
	"encoding/json"
	"fmt"
	"io"
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

// Any client, without a token, picks the request's method: a label with its value would grow a
// time series (and a histogram's buckets) per invented method, in the process and in Prometheus.
func TestRequestMetricsKeepTheMethodLabelBounded(t *testing.T) {
	srv := startServer(t, Options{})
	base := "http://" + srv.Addr().String()
	for i := range 5 {
		req, err := http.NewRequest(fmt.Sprintf("INVENTED%d", i), base+"/healthz", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var metrics string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "hipchat_connector_http_requests_total{") {
			metrics += line + "\n"
		}
	}
	assert.NotContains(t, metrics, `method="INVENTED`, "an invented method is no label value of its own")
	assert.Contains(t, metrics, `hipchat_connector_http_requests_total{method="other",route="unmatched",status="405"} 5`)
}
