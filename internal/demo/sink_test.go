package demo

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

// TestCallbackSink checks the sink's answers: it counts a delivery once when its signature
// verifies, refuses a bad signature (counted as failed), asks for a retry before the subscription's
// secret is known, and knows only its three paths.
func TestCallbackSink(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	message, file := webhookTriggers[0], webhookTriggers[1]
	payload := []byte(`{"id":"m1","message":"hi","type":"message","from":{"id":3,"name":"Bob Stone"},"room_id":"1"}`)
	signed := func(id, key string) *http.Request {
		wh, err := standardwebhooks.NewWebhook(key)
		require.NoError(t, err)
		now := time.Now()
		sig, err := wh.Sign(id, now, payload)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, message.callbackPath(), strings.NewReader(string(payload)))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		return req
	}
	serve := func(s *callbackSink, req *http.Request) int {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	out := &testkit.SyncBuffer{}
	sink := newCallbackSink(out)
	sink.nameRoom(1, "Demo")

	require.Equal(t, http.StatusServiceUnavailable, serve(sink, signed("d1", secret)), "before expect")
	require.NoError(t, sink.expect(message, secret))
	require.NoError(t, sink.expect(file, secret))
	require.Equal(t, http.StatusNoContent, serve(sink, signed("d1", secret)))
	require.Equal(t, http.StatusNoContent, serve(sink, signed("d1", secret)), "a repeat")
	require.Equal(t, http.StatusUnauthorized, serve(sink, signed("d2", "whsec_"+strings.Repeat("A", 32))))
	require.Equal(t, http.StatusNotFound, serve(sink, httptest.NewRequest(http.MethodPost, "/callbacks/other", nil)))
	require.Equal(t, http.StatusNotFound, serve(sink, httptest.NewRequest(http.MethodGet, message.callbackPath(), nil)))

	tally := sink.summary()
	require.Equal(t, 1, tally.delivered["OnNewMessageWebhook"])
	require.Equal(t, 1, tally.failed)
	require.Equal(t, []string{"OnNewFileWebhook", "OnNewRoomWebhook"}, tally.missing())
	require.Equal(t, "1 deliveries (OnNewMessageWebhook 1, OnNewFileWebhook 0, OnNewRoomWebhook 0), 1 signatures FAILED", tally.String())
	require.Regexp(t, `OnNewMessageWebhook  Demo +Bob Stone: "hi"  signature ok`, out.String())
	require.Contains(t, out.String(), "signature FAILED")
}
