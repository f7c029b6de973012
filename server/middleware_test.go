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
