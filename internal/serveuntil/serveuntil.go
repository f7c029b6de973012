// Package serveuntil runs an HTTP server until its context ends, for the commands that are one
// server each: the emulator (sim) and the demos' sink and load balancer.
package serveuntil

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves hs on ln until ctx ends, then shuts hs down, letting requests in flight finish for up
// to grace. Errors: serving failed (other than by the shutdown), or requests were still running
// when grace ran out.
func Serve(ctx context.Context, hs *http.Server, ln net.Listener, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(shutdownCtx)
	if serveErr := <-served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}
