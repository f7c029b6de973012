package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// startingShutdown bounds the wait for the answers ServeStarting has in flight when it stops.
const startingShutdown = 2 * time.Second

// ServeStarting answers on ln from the moment it is bound until a Server takes ln over (ListenOn,
// then Run), so that a load balancer's or a test's probe is answered while the process opens its
// database and joins its replicas, rather than held in the listen queue until serving starts (and
// reset if the start fails): GET or HEAD /healthz is 200 (the process is alive), anything else 503
// not_ready, "starting", with Retry-After: 1, in the one error shape. The returned stop ends it and
// leaves ln open and bound, with the connections not yet accepted still queued for the Server; it
// waits up to 2 s for the answers in flight, and may be called more than once. A listener that
// cannot be woken from Accept (no SetDeadline, unlike TCP and Unix listeners) is not served:
// requests then wait for the Server, as before.
func ServeStarting(ln net.Listener, logger *slog.Logger) (stop func()) {
	deadline, ok := ln.(interface{ SetDeadline(time.Time) error })
	if !ok {
		return func() {}
	}
	starting := &startingListener{Listener: ln}
	srv := &http.Server{
		Handler:           http.HandlerFunc(answerStarting),
		ReadHeaderTimeout: startingShutdown,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(starting) // ends when stop wakes Accept
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			starting.stopping.Store(true)
			_ = deadline.SetDeadline(time.Unix(1, 0)) // wakes Accept, which then says closed
			<-served
			_ = deadline.SetDeadline(time.Time{})
			ctx, cancel := context.WithTimeout(context.Background(), startingShutdown)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		})
	}
}

// answerStarting is every answer while the process starts.
func answerStarting(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
		return
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(errorBody{Error: errorDetail{Code: CodeNotReady,
		Message: "not ready: the connector is starting; try again in a moment"}})
}

// startingListener is the bound listener as ServeStarting serves it: once stopping, Accept says
// closed, and Close leaves the listener open, since it is the Server's next.
type startingListener struct {
	net.Listener
	stopping atomic.Bool
}

func (l *startingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil && l.stopping.Load() {
		return nil, net.ErrClosed
	}
	return conn, err
}

// Close leaves the listener open: the Server takes it over.
func (l *startingListener) Close() error { return nil }
