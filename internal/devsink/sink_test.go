package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// sinkWithSecrets serves a quiet sink keeping arrivals, whose secrets file names subscription
// "sub-1" with secret.
func sinkWithSecrets(t *testing.T, secret string) *httptest.Server {
	file := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.WriteFile(file, []byte("sub-1 "+secret+"\n"), 0o600))
	s := newSink(file, true, io.Discard)
	s.count.arrived = map[string]time.Time{}
	mux := http.NewServeMux()
	mux.Handle("GET /stats", http.HandlerFunc(s.serveStats))
	mux.Handle("GET /arrivals", http.HandlerFunc(s.serveArrivals))
	mux.Handle("/", s)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// deliver POSTs a delivery signed with secret as the connector signs it and returns the status.
func deliver(t *testing.T, url, sub, secret, webhookID, payload string) int {
	req, err := webhook.NewRequest(context.Background(), url+"/hook", []string{secret},
		webhook.Message{ID: webhookID, Type: "message", SubscriptionID: sub, Payload: []byte(payload)}, time.Now(), "")
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTheSinkCountsEachWebhookIDOnce: verified deliveries are accepted and counted, a second one
// with the same webhook-id as a repeat; an unknown subscription gets 503 and a wrong signature 401,
// and neither counts; /arrivals tells when each event first came.
func TestTheSinkCountsEachWebhookIDOnce(t *testing.T) {
	secret, err := webhook.NewSecret()
	require.NoError(t, err)
	other, err := webhook.NewSecret()
	require.NoError(t, err)
	srv := sinkWithSecrets(t, secret)

	assert.Equal(t, http.StatusNoContent, deliver(t, srv.URL, "sub-1", secret, "msg_1", `{"id":"m1"}`))
	assert.Equal(t, http.StatusNoContent, deliver(t, srv.URL, "sub-1", secret, "msg_2", `{"id":"m2"}`))
	assert.Equal(t, http.StatusNoContent, deliver(t, srv.URL, "sub-1", secret, "msg_1", `{"id":"m1"}`), "a repeat is accepted")
	assert.Equal(t, http.StatusServiceUnavailable, deliver(t, srv.URL, "sub-2", secret, "msg_3", `{"id":"m3"}`))
	assert.Equal(t, http.StatusUnauthorized, deliver(t, srv.URL, "sub-1", other, "msg_4", `{"id":"m4"}`))

	var st stats
	resp, err := http.Get(srv.URL + "/stats")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	resp.Body.Close()
	assert.Equal(t, 3, st.Accepted)
	assert.Equal(t, 2, st.Unique)
	assert.Equal(t, 1, st.Repeats)
	assert.LessOrEqual(t, st.FirstUnixNano, st.LastUnixNano)
	assert.Positive(t, st.FirstUnixNano)

	var arrived map[string]int64
	resp, err = http.Get(srv.URL + "/arrivals")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&arrived))
	resp.Body.Close()
	assert.Len(t, arrived, 2)
	assert.Contains(t, arrived, "m1")
	assert.Contains(t, arrived, "m2")
}
