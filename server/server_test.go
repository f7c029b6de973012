package server

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer runs a server on 127.0.0.1:0 until the test ends and returns it once it is ready.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	srv, err := New(opts, testDeps())
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	waitReady(t, "http://"+srv.Addr().String())
	return srv
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond)
}

func TestListenRefusesABusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	srv, err := New(Options{Addr: busy.Addr().String()}, testDeps())
	require.NoError(t, err)
	err = srv.Listen()
	require.Error(t, err)
	assert.Contains(t, err.Error(), busy.Addr().String())
	assert.Error(t, srv.Run(context.Background()), "Run binds too and fails the same way")
}

func TestPublicURLDefaultsToTheBoundAddress(t *testing.T) {
	srv := startServer(t, Options{})
	assert.Equal(t, "http://"+srv.Addr().String(), srv.PublicURL())

	srv, err := New(Options{Addr: "0.0.0.0:0"}, testDeps())
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	defer srv.listener.Close()
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	assert.Equal(t, "http://localhost:"+port, srv.PublicURL(), "an unspecified host becomes localhost")

	srv, err = New(Options{PublicURL: "https://connector.example.com"}, testDeps())
	require.NoError(t, err)
	assert.Equal(t, "https://connector.example.com", srv.PublicURL())
}

func TestRunShutsDownGracefully(t *testing.T) {
	srv, err := New(Options{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, testDeps())
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	base := "http://" + srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	waitReady(t, base)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	_, err = http.Get(base + "/healthz")
	assert.Error(t, err, "nothing listens after Run returned")
	assert.Error(t, srv.ready(), "not ready once stopped")
}

// testDeps are the least a server needs: a HipChat client (no call is made in these tests).
func testDeps() Deps {
	return Deps{Client: connector.NewClient(connector.ClientOptions{})}
}

func TestNewRefusesAMissingClient(t *testing.T) {
	_, err := New(Options{}, Deps{})
	assert.ErrorContains(t, err, "client is required")
}
