// Package server is the connector's one HTTP home: its options, the Gin engine with every route
// (routes.go), the middleware every request passes (access log, metrics, body limit, the token), the
// one error vocabulary and writer (errors.go), the one request→connection adapter (connection.go),
// the table that serves the actions of package actions (actions_table.go, action_adapter.go), the
// polling triggers (polling.go) and the callback subscriptions (subscribe.go, subscription_*.go), and
// the lifecycle: bind, serve, shut down gracefully with one deadline. The domain packages below it
// (actions, connector, triggers, state, webhook) know nothing of HTTP serving.
package server

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/swagger"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Deps are the parts the server uses but does not own; cmd builds them.
type Deps struct {
	// Client calls HipChat for the actions, the polling triggers and subscribing. Required.
	Client *connector.Client
	// StateKey signs the state of the polling triggers (the database's server key, so states survive
	// restarts). Nil means a random key for this process only: states then die with it.
	StateKey []byte
	// Store holds callback subscriptions and their outbox. Nil answers their operations 503
	// not_ready.
	Store SubscriptionStore
	// Nudge wakes the delivery worker when a test event or a resend is queued (Deliverer.Nudge).
	// Optional: without it the worker finds them on its next interval.
	Nudge func()
	// Changed tells the poller and the delivery worker that a subscription was created or changed
	// (paused, resumed, its secret rotated, deleted), so they read it again (Poller.Changed,
	// Deliverer.Forget). Optional: without it they find out at their next resync.
	Changed func(subscriptionID string)
	// PollPlan tells how the poller reads a connection's feeds (Poller.Plan), for the subscription
	// view: how many rooms it watches, how many one tick reads, the lag that makes. Optional.
	PollPlan func(connectionID string) (PollPlan, bool)
	// Doorbell answers a HipChat room webhook call at /hipchat/rooms/{feed}/{secret} (Poller.Ring):
	// true when the feed and its secret are known (204; the feed is read now), false otherwise (404,
	// no HipChat call). Nil: the route answers 404.
	Doorbell func(feed, secret string, payload []byte) bool
	// PushStatus tells a message/file feed's push state and why it is off (Poller.PushStatus), for
	// the subscription view. Optional.
	PushStatus func(connectionID, room string) (state, reason string, ok bool)
	// Operator backs the operator routes (/admin/); required when Options.AdminToken is set, and
	// then Store too.
	Operator OperatorStore
	// Registry is served at /metrics, with the server's own request metrics added to it. Nil means
	// a registry of the server's own.
	Registry *prometheus.Registry
	// MaxPending is the poller's bound on a subscription's pending deliveries (the bounded outbox),
	// for the subscription view's backlog: held when they reached it. 0: never shown held.
	MaxPending int
	// MaxSubscriptions bounds the subscriptions one connection may hold: a subscribe beyond it is
	// refused (409 too_many_subscriptions). 0: DefaultMaxSubscriptions.
	MaxSubscriptions int
	// Ready, when set, says why the process cannot take its share of the work (e.g. no etcd
	// session, with several replicas): /readyz answers 503 with it while it returns an error.
	// Nil: ready while serving.
	Ready func() error
}

// Server is the connector's HTTP API. Create it with New, bind with Listen, serve with Run.
type Server struct {
	opts       Options
	client     *connector.Client
	metrics    *metrics
	engine     *gin.Engine
	http       *http.Server
	definition definitionHandler
	polling    *triggers.Polling
	subs       subscriptionAPI
	doorbell   func(feed, secret string, payload []byte) bool
	readyDep   func() error // Deps.Ready; nil: ready while serving
	operator   *operatorAPI // nil: no operator credential, the /admin/ routes are absent
	actions    actionEnv    // what the action table's handlers share

	listener  net.Listener
	publicURL string
	serving   atomic.Bool
}

var releaseMode sync.Once

// New checks opts (see Options.Validate) and returns a server with every route in place. It binds
// nothing yet. Errors: invalid options, a missing client, a registry that already holds the
// server's metrics.
func New(opts Options, deps Deps) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("server options: %w", err)
	}
	if deps.Client == nil {
		return nil, errors.New("server: a HipChat client is required")
	}
	opts = opts.withDefaults()
	releaseMode.Do(func() { gin.SetMode(gin.ReleaseMode) })

	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, metrics: m, client: deps.Client, doorbell: deps.Doorbell, readyDep: deps.Ready,
		actions: actionEnv{maxFileBytes: opts.MaxFileBytes, uploads: newUploadBudget(opts.MaxFileBytes)}}
	polling, err := newPolling(s.client, deps.StateKey)
	if err != nil {
		return nil, err
	}
	s.polling = polling
	nudge, changed := deps.Nudge, deps.Changed
	if nudge == nil {
		nudge = func() {}
	}
	if changed == nil {
		changed = func(string) {}
	}
	s.subs = subscriptionAPI{
		store: deps.Store, source: s.client, users: s.client, publicURL: s.PublicURL,
		allowPrivateCallbacks: opts.AllowPrivateCallbacks, nudge: nudge, changed: changed, pollPlan: deps.PollPlan,
		pushStatus:    deps.PushStatus,
		secretOverlap: opts.SecretOverlap, maxPending: deps.MaxPending,
		maxSubscriptions: cmp.Or(deps.MaxSubscriptions, DefaultMaxSubscriptions),
		now:              opts.Clock, log: opts.Logger,
	}

	if opts.AdminToken != "" {
		if deps.Operator == nil || deps.Store == nil {
			return nil, errors.New("server: an operator credential needs the database (Deps.Operator and Deps.Store)")
		}
		s.operator = &operatorAPI{subs: s.subs, store: deps.Operator, tokenSum: sha256.Sum256([]byte(opts.AdminToken)), now: opts.Clock}
	}

	if opts.PublicURL != "" {
		if err := s.setPublicURL(opts.PublicURL); err != nil {
			return nil, err
		}
	}

	s.engine = gin.New()
	s.engine.HandleMethodNotAllowed = true
	// No redirects: /rooms/ and //rooms answer 404 route_not_found in the error shape, naming the
	// path to use, rather than Gin's 301 page (or a 307 that many clients do not follow for a POST).
	s.engine.RedirectTrailingSlash = false
	s.engine.RedirectFixedPath = false
	// Room names are path parameters too; an encoded slash in one must not split the path.
	s.engine.UseRawPath = true
	s.engine.UnescapePathValues = true
	s.engine.Use(observe(opts.Logger, opts.Clock, s.metrics), recoverPanics(), limitBody(opts.MaxBodyBytes, actionBodyLimits(opts)))
	s.engine.NoRoute(handleNoRoute())
	s.engine.NoMethod(handleNoMethod())
	s.routes(s.engine)

	s.http = &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// setPublicURL renders the definition for publicURL; an error wraps swagger.ErrPublicURL.
func (s *Server) setPublicURL(publicURL string) error {
	h, err := swagger.Handler(publicURL)
	if err != nil {
		return fmt.Errorf("public-url: %w", err)
	}
	s.publicURL = publicURL
	s.definition.h = h
	return nil
}

// Listen binds Options.Addr, so that a busy port is an error at start rather than in the background.
// Without Options.PublicURL, the public URL becomes http://<bound address>.
func (s *Server) Listen() error {
	if s.listener != nil {
		return errors.New("server: already listening")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	return s.ListenOn(ln)
}

// ListenOn serves on ln, bound by the caller (cmd binds before it opens the database, so that a
// busy port creates nothing). Without Options.PublicURL, the public URL becomes http://<ln's
// address>. Errors: already listening, a public URL that cannot be rendered (ln is closed then).
func (s *Server) ListenOn(ln net.Listener) error {
	if s.listener != nil {
		return errors.New("server: already listening")
	}
	if s.publicURL == "" {
		if err := s.setPublicURL("http://" + reachableHostPort(ln.Addr())); err != nil {
			_ = ln.Close() // the public URL's error is the one that matters
			return err
		}
	}
	s.listener = ln
	return nil
}

// reachableHostPort is addr with an unspecified host (0.0.0.0, ::) replaced by localhost.
func reachableHostPort(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Addr is the bound address, nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// PublicURL is the URL the definition names: Options.PublicURL, or after Listen the bound address.
func (s *Server) PublicURL() string { return s.publicURL }

// Handler is the Gin engine with every route, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.engine }

// Run serves until ctx ends, then shuts down gracefully: it stops accepting, lets requests in flight
// finish within Options.ShutdownTimeout and then closes what is left. It binds first if Listen was not
// called. It returns nil after a clean shutdown, the serving error if serving fails, or the shutdown
// error when requests outlived the deadline.
func (s *Server) Run(ctx context.Context) error {
	if s.listener == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	served := make(chan error, 1)
	s.serving.Store(true)
	s.opts.Logger.Info("serving", "addr", s.listener.Addr().String(), "public_url", redactURL(s.publicURL))
	go func() { served <- s.http.Serve(s.listener) }()

	select {
	case err := <-served:
		s.serving.Store(false)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.serving.Store(false)
	s.opts.Logger.Info("shutting down", "deadline", s.opts.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	if err != nil {
		_ = s.http.Close() // past the deadline: drop what is left; the shutdown error is reported
		err = fmt.Errorf("graceful shutdown: %w", err)
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve: %w", serveErr)
	}
	s.opts.Logger.Info("stopped")
	return err
}

// ready reports why the server cannot take requests, or nil when it can.
func (s *Server) ready() error {
	if !s.serving.Load() {
		return errors.New("not serving")
	}
	if s.readyDep != nil {
		return s.readyDep()
	}
	return nil
}

// definitionHandler serves /swagger.json once the public URL is known (at New or at Listen).
type definitionHandler struct{ h http.Handler }

func (d *definitionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d.h == nil {
		http.Error(w, "the definition is not rendered before the server listens", http.StatusServiceUnavailable)
		return
	}
	d.h.ServeHTTP(w, r)
}
