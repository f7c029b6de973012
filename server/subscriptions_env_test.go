package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// env is the subscriptions API on a gin engine over real HTTP, in front of the emulator, a real
// bbolt store, the poller, the deliverer and a callback sink.
type env struct {
	t         *testing.T
	ctx       context.Context
	api       *httptest.Server
	sim       *simclient.Client
	admin     string
	alice     simclient.Person
	bob       simclient.Person
	store     *bolt.Store
	poller    *poller.Poller
	deliverer *delivery.Deliverer
	sink      *sink
	clock     *clock
	// upstream counts the requests that reached the emulator's HipChat API (/v2/), whatever their
	// token (the emulator's own count knows only its tokens).
	upstream atomic.Int64
}

// clock is the store's and the deliverer's clock: wall time plus what a test advanced it by.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func newEnv(t *testing.T, allowPrivate bool) *env {
	t.Helper()
	return newEnvWith(t, allowPrivate, "")
}

// newEnvWith is newEnv with an operator credential (none when ""), which serves the /admin/ routes.
func newEnvWith(t *testing.T, allowPrivate bool, adminToken string) *env {
	t.Helper()
	return newEnvBounded(t, allowPrivate, adminToken, poller.DefaultMaxPending)
}

// newEnvBounded is newEnvWith with the bounded outbox's bound of the poller and the view.
func newEnvBounded(t *testing.T, allowPrivate bool, adminToken string, maxPending int) *env {
	t.Helper()
	return newEnvLimited(t, allowPrivate, adminToken, maxPending, 0)
}

// newEnvLimited is newEnvBounded with the bound on each connection's subscriptions (0: the
// server's default).
func newEnvLimited(t *testing.T, allowPrivate bool, adminToken string, maxPending, maxSubscriptions int) *env {
	t.Helper()
	gin.SetMode(gin.TestMode)
	e := &env{t: t, ctx: context.Background(), clock: &clock{}}
	emu, err := hipchatsim.New(hipchatsim.Options{})
	require.NoError(t, err)
	hipchat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			e.upstream.Add(1)
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(hipchat.Close)
	e.sim, e.admin = simclient.New(hipchat.URL), emu.AdminToken()
	e.alice, err = e.sim.NewPerson(e.ctx, e.admin, "Alice Example", "alice")
	require.NoError(t, err)
	e.bob, err = e.sim.NewPerson(e.ctx, e.admin, "Bob Example", "bob")
	require.NoError(t, err)

	e.store = testkit.OpenStore(t, e.clock.Now)
	client := connector.NewClient(connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})})
	quiet := slog.New(slog.DiscardHandler)
	e.deliverer, err = delivery.New(delivery.Options{Store: e.store, AllowPrivateCallbacks: true, Logger: quiet, Now: e.clock.Now})
	require.NoError(t, err)
	e.poller, err = poller.New(poller.Options{Store: e.store, Source: client, Logger: quiet, MaxPending: maxPending})
	require.NoError(t, err)
	e.sink = newSink(t)

	// The whole HTTP API (routes, middleware, the one error writer) on a listener bound first, so
	// that its public URL is known; a trailing slash there is trimmed from every Location.
	e.api = httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Options{
		HipChatURL: hipchat.URL, PublicURL: "http://" + e.api.Listener.Addr().String() + "/",
		AllowPrivateCallbacks: allowPrivate, Logger: quiet, AdminToken: adminToken,
	}, server.Deps{Client: client, StateKey: bytes.Repeat([]byte{3}, 32), Store: e.store, Operator: e.store,
		Nudge: e.deliverer.Nudge, Changed: func(id string) { e.poller.Changed(id); e.deliverer.Forget(id) },
		MaxPending: maxPending, MaxSubscriptions: maxSubscriptions})
	require.NoError(t, err)
	e.api.Config.Handler = srv.Handler()
	e.api.Start()
	t.Cleanup(e.api.Close)
	return e
}

// response is one answer of the API.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), string(r.Body))
}

// errorCode returns the code and field of an error answer.
func (r response) errorCode(t *testing.T) (code, field string) {
	t.Helper()
	var body struct {
		Error struct{ Code, Field, Message string }
	}
	r.json(t, &body)
	return body.Error.Code, body.Error.Field
}

// call makes a request as token (none when "") with body (JSON-encoded unless a string).
func (e *env) call(method, path, token string, body any) response {
	e.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.api.URL+path, reader)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func (e *env) room(name string) string {
	e.t.Helper()
	id, err := e.sim.CreateRoom(e.ctx, e.alice.Token, name, "public")
	require.NoError(e.t, err)
	return strconv.Itoa(id)
}

// subscribe subscribes the sink as token to kind ("messages", "files" or "" for rooms) of room.
func (e *env) subscribe(token, kind, room string) server.Subscription {
	e.t.Helper()
	path := "/subscriptions/rooms"
	if kind != "" {
		path += "/" + room + "/" + kind
	}
	resp := e.call("POST", path, token, map[string]string{"callbackUrl": e.sink.url()})
	require.Equal(e.t, http.StatusCreated, resp.Status, string(resp.Body))
	var sub server.Subscription
	resp.json(e.t, &sub)
	e.sink.trust(sub.ID, sub.Secret)
	return sub
}

// cycle runs one poll tick and delivers everything due.
func (e *env) cycle() {
	e.t.Helper()
	require.NoError(e.t, e.poller.Tick(e.ctx))
	_, err := e.deliverer.DeliverDue(e.ctx)
	require.NoError(e.t, err)
}

// sink is a callback receiver that verifies signatures with the secrets it was told.
type sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string
	got     []hook
	status  int
}

type hook struct {
	Sub, WebhookID, Event string
	Body                  []byte
	Header                http.Header
	Verified              error
}

func newSink(t *testing.T) *sink {
	s := &sink{secrets: map[string]string{}, status: http.StatusOK}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		h := hook{Sub: r.Header.Get(webhook.HeaderSubscription), WebhookID: r.Header.Get("webhook-id"),
			Event: r.Header.Get(webhook.HeaderEventType), Body: body, Header: r.Header.Clone()}
		wh, err := standardwebhooks.NewWebhook(s.secrets[h.Sub])
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		h.Verified = err
		s.got = append(s.got, h)
		w.WriteHeader(s.status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) url() string { return s.srv.URL + "/hook?sig=secret-of-the-receiver" }

func (s *sink) trust(sub, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[sub] = secret
}

func (s *sink) hooks() []hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hook(nil), s.got...)
}

func (s *sink) answer(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// connOf is the connection id of token at the emulator.
func connOf(e *env, token string) string {
	return connector.NewConnection(token, e.sim.BaseURL).ID
}
