package serveuntil_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/serveuntil"
)

// TestServeAnswersUntilItsContextEnds: requests are answered while ctx lives; when it ends, Serve
// returns nil and the port is closed.
func TestServeAnswersUntilItsContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "up")
	})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveuntil.Serve(ctx, hs, ln, time.Second) }()
	url := "http://" + ln.Addr().String() + "/"
	resp, err := http.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "up", string(body))

	cancel()
	require.NoError(t, <-done)
	_, err = http.Get(url)
	assert.Error(t, err, "the port is closed once Serve returns")
}

// TestServeReturnsAFailureToServe: a listener that is already closed is an error at once.
func TestServeReturnsAFailureToServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	hs := &http.Server{ReadHeaderTimeout: time.Second}
	assert.Error(t, serveuntil.Serve(context.Background(), hs, ln, time.Second))
}
