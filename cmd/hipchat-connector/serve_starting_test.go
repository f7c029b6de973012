package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
)

// Between binding its port and serving, serve opens the database (waiting for another process's
// lock, up to 5 s), joins the replicas and builds its parts. A load balancer or a test that asks
// /readyz then gets an answer at once, 503 not_ready, rather than a connection that waits (and, if
// the start fails, is reset); /healthz answers 200 (the process is alive), an operation 503 too.
// Once the database opens, /readyz turns 200.
func TestReadyzAnswersWhileTheConnectorStarts(t *testing.T) {
	sim := startEmulator(t)
	db := filepath.Join(t.TempDir(), "connector.db")
	held, err := bbolt.Open(db, 0o600, nil) // as another process would: serve waits for its lock
	require.NoError(t, err)
	release := func() { _ = held.Close() }
	t.Cleanup(release)

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	stdout, logs := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var served error
	go func() {
		defer close(done)
		served = run(ctx, []string{"serve", "-addr", addr, "-hipchat-url", sim.URL, "-db", db}, func(string) string { return "" }, stdout, logs)
	}()
	stop := func() error {
		cancel()
		select {
		case <-done:
			return served
		case <-time.After(30 * time.Second):
			return fmt.Errorf("serve did not stop")
		}
	}
	t.Cleanup(func() { _ = stop() })

	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path, token string) (int, string, error) {
		req, err := http.NewRequest("GET", "http://"+addr+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}

	var status int
	var body string
	require.Eventually(t, func() bool {
		var err error
		status, body, err = get("/readyz", "")
		return err == nil // refused until the port is bound
	}, 10*time.Second, 5*time.Millisecond, "/readyz gave no answer while the connector started; stderr: %s", logs)
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	var answer struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &answer), body)
	assert.Equal(t, "not_ready", answer.Error.Code)
	assert.Contains(t, answer.Error.Message, "starting")
	assert.NotContains(t, stdout.String(), "listening on", "serve still waits for the database")

	status, body, err = get("/healthz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, "alive while starting: %s", body)
	status, body, err = get("/rooms", "a-token")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, status, "an operation while starting: %s", body)

	release()
	waitListening(t, stdout)
	require.Eventually(t, func() bool {
		status, _, err := get("/readyz", "")
		return err == nil && status == http.StatusOK
	}, 10*time.Second, 5*time.Millisecond, "ready once the database opened; stderr: %s", logs)
	assert.NoError(t, stop(), "a clean shutdown")
}
