package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// loopbackServer is an HTTP server of the demo (the emulator or the callback sink), bound to a free
// loopback port before it serves, so a failure to bind is a startup error.
type loopbackServer struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// listenLoopback binds 127.0.0.1:0 for handler. Errors: the bind's.
func listenLoopback(name string, handler http.Handler) (*loopbackServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &loopbackServer{name: name, ln: ln, srv: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       time.Minute,
	}}, nil
}

// URL is the server's base URL, http://127.0.0.1:PORT.
func (s *loopbackServer) URL() string { return "http://" + s.ln.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully within 5 s and closes what is still open
// after that. Errors: serving's, named after the server.
func (s *loopbackServer) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("%s: %w", s.name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Go's Shutdown waits up to 5 s for a connection that was dialed but never carried a request
		// (a client's spare connection): after the grace period the demo closes what is left.
		err = s.srv.Close()
	}
	if serveErr := <-served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// close releases the port of a server that never ran.
func (s *loopbackServer) close() { _ = s.ln.Close() }
