package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// faultWorld is the connector (HTTP API, poller, deliverer, bbolt file) in front of the emulator,
// everything on one injected clock: a tick is a call of Tick, a minute is clock.Advance, and a
// "restart" closes the database and builds every part again on the same file. The client has the
// production budget (100 calls per connection in any 61 s); when a background read waits for it,
// the wait passes on the injected clock.
type faultWorld struct {
	t      *testing.T
	ctx    context.Context
	clock  *manualclock.Clock
	sim    *simclient.Client
	admin  string
	poster simclient.Person // posts into the rooms; never faulted
	dbPath string
	sink   *clockSink
	logs   *testkit.SyncBuffer

	timeout   time.Duration
	client    *connector.Client
	store     *bolt.Store
	poller    *poller.Poller
	deliverer *delivery.Deliverer
	api       *httptest.Server
	running   bool
}

func newFaultWorld(t *testing.T, clientTimeout time.Duration) *faultWorld {
	t.Helper()
	gin.SetMode(gin.TestMode)
	clock := manualclock.New(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	emu, err := hipchatsim.New(hipchatsim.Options{Now: clock.Now}) // HipChat's own limits off: faults are injected
	require.NoError(t, err)
	hipchat := httptest.NewServer(emu)
	t.Cleanup(hipchat.Close)
	w := &faultWorld{t: t, ctx: context.Background(), clock: clock, sim: simclient.New(hipchat.URL), admin: emu.AdminToken(),
		dbPath: filepath.Join(t.TempDir(), "connector.db"), logs: &testkit.SyncBuffer{}, timeout: clientTimeout}
	w.poster = w.person("Poster", "poster")
	w.sink = newClockSink(t, clock)
	w.start()
	t.Cleanup(w.stop)
	return w
}

func (w *faultWorld) person(name, mention string) simclient.Person {
	w.t.Helper()
	p, err := w.sim.NewPerson(w.ctx, w.admin, name, mention)
	require.NoError(w.t, err)
	return p
}

// hipchatURL is the emulator's base URL.
func (w *faultWorld) hipchatURL() string { return w.sim.BaseURL }

// start builds the connector on the database file, as a process start would.
func (w *faultWorld) start() {
	w.t.Helper()
	var err error
	w.store, err = bolt.Open(w.dbPath, bolt.Options{Key: testkit.StoreKey(), Now: w.clock.Now, Timeout: time.Second})
	require.NoError(w.t, err)
	logger := slog.New(slog.NewJSONHandler(w.logs, nil))
	limits := connector.DefaultLimiterOptions()
	limits.Now = w.clock.Now
	w.client = connector.NewClient(connector.ClientOptions{
		Timeout: w.timeout, Now: w.clock.Now, Limiter: connector.NewLimiter(limits),
		Sleep: func(ctx context.Context, d time.Duration) error { w.clock.Advance(d); return ctx.Err() },
	})
	w.deliverer, err = delivery.New(delivery.Options{Store: w.store, Now: w.clock.Now, AllowPrivateCallbacks: true,
		Logger: logger, Jitter: func(d time.Duration) time.Duration { return d }})
	require.NoError(w.t, err)
	w.poller, err = poller.New(poller.Options{Store: w.store, Source: w.client, Budgets: w.client, Now: w.clock.Now, Logger: logger})
	require.NoError(w.t, err)
	w.api = httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Options{HipChatURL: w.hipchatURL(), PublicURL: "http://" + w.api.Listener.Addr().String(),
		AllowPrivateCallbacks: true, Logger: logger, Clock: w.clock.Now},
		server.Deps{Client: w.client, StateKey: bytes.Repeat([]byte{9}, 32), Store: w.store, Nudge: w.deliverer.Nudge,
			Changed: func(id string) { w.poller.Changed(id); w.deliverer.Forget(id) }})
	require.NoError(w.t, err)
	w.api.Config.Handler = srv.Handler()
	w.api.Start()
	w.running = true
}

// stop closes the connector's parts and its database (no tick or delivery is in flight between
// calls of cycle, so this is a clean stop; the crash tests of cmd cover SIGKILL).
func (w *faultWorld) stop() {
	if !w.running {
		return
	}
	w.running = false
	w.api.Close()
	if err := w.store.Check(); err != nil {
		w.t.Errorf("bbolt check: %v", err)
	}
	require.NoError(w.t, w.store.Close())
}

// cycle is one simulated minute: the clock moves, the poller ticks, due deliveries go out.
func (w *faultWorld) cycle() {
	w.t.Helper()
	w.clock.Advance(time.Minute)
	_ = w.poller.Tick(w.ctx) // faults make feeds fail; they are read again next tick
	for i := 0; i < 5; i++ {
		if n, err := w.deliverer.DeliverDue(w.ctx); err != nil || n == 0 {
			break
		}
	}
}

// call makes a request of the connector's API as token, with a JSON body when not nil.
func (w *faultWorld) call(method, target, token string, body any) response {
	w.t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(w.t, err)
		reader = bytes.NewReader(raw)
	}
	if !strings.HasPrefix(target, "http") {
		target = w.api.URL + target
	}
	req, err := http.NewRequestWithContext(w.ctx, method, target, reader)
	require.NoError(w.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.api.Client().Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// subscribe subscribes the sink to the messages of room as token, retrying through faults.
func (w *faultWorld) subscribe(token, room string) server.Subscription {
	w.t.Helper()
	for attempt := 0; ; attempt++ {
		resp := w.call("POST", "/subscriptions/rooms/"+room+"/messages", token, map[string]string{"callbackUrl": w.sink.URL()})
		if resp.Status == http.StatusCreated {
			var sub server.Subscription
			resp.json(w.t, &sub)
			w.sink.Trust(sub.ID, sub.Secret)
			return sub
		}
		require.Less(w.t, attempt, 20, "subscribing kept failing: %d %s", resp.Status, resp.Body)
		w.clock.Advance(time.Minute)
	}
}

// post posts n messages into room as the poster, the clock moving step between them, and returns
// their ids.
func (w *faultWorld) post(room string, n int, step time.Duration) []string {
	w.t.Helper()
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		id, err := w.sim.PostMessage(w.ctx, w.poster.Token, room, "message "+strconv.Itoa(i))
		require.NoError(w.t, err)
		ids = append(ids, id)
		w.clock.Advance(step)
	}
	return ids
}

// room creates a public room (as the poster) and returns its id.
func (w *faultWorld) room(name string) string {
	w.t.Helper()
	id, err := w.sim.CreateRoom(w.ctx, w.poster.Token, name, "public")
	require.NoError(w.t, err)
	return strconv.Itoa(id)
}

// logicApp polls one polling trigger as Logic Apps would: the latest Location, again at once while
// Retry-After is 0; through faults it keeps its Location and tries on the next cycle.
type logicApp struct {
	w        *faultWorld
	token    string
	location string
	got      []string
	answers  map[int]int
}

func (w *faultWorld) logicApp(token, room string) *logicApp {
	w.t.Helper()
	a := &logicApp{w: w, token: token, answers: map[int]int{}}
	for attempt := 0; a.location == ""; attempt++ {
		resp := w.call("GET", "/triggers/rooms/"+room+"/messages", token, nil)
		if resp.Status == http.StatusAccepted {
			a.location = resp.Header.Get("Location")
			break
		}
		require.Less(w.t, attempt, 20, "the baseline kept failing: %d %s", resp.Status, resp.Body)
		w.clock.Advance(time.Minute)
	}
	return a
}

// poll polls until nothing more is waiting or a fault stops it.
func (a *logicApp) poll() {
	a.w.t.Helper()
	for i := 0; i < 200; i++ {
		// The public URL stays; the test server's port changes with a restart.
		target := a.location
		if u, err := url.Parse(target); err == nil {
			target = a.w.api.URL + u.RequestURI()
		}
		resp := a.w.call("GET", target, a.token, nil)
		a.answers[resp.Status]++
		switch resp.Status {
		case http.StatusOK:
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			resp.json(a.w.t, &page)
			for _, item := range page.Items {
				a.got = append(a.got, item.ID)
			}
			a.location = resp.Header.Get("Location")
			if resp.Header.Get("Retry-After") != "0" {
				return
			}
		case http.StatusAccepted:
			return
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
			require.NotEmpty(a.w.t, resp.Header.Get("Retry-After")+strconv.Itoa(resp.Status-429), "a 429 says Retry-After")
			return
		default:
			a.w.t.Fatalf("the polling trigger answered %d %s", resp.Status, resp.Body)
		}
	}
}

// tally counts what a receiver got against what was sent: delivered (distinct ids), duplicated
// (ids seen more than once), lost (sent, never seen), and unexpected (seen, never sent).
type tally struct{ sent, delivered, duplicated, lost, unexpected int }

func count(sent, got []string) tally {
	want := map[string]bool{}
	for _, id := range sent {
		want[id] = true
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	c := tally{sent: len(sent)}
	for id, n := range seen {
		if !want[id] {
			c.unexpected++
			continue
		}
		c.delivered++
		if n > 1 {
			c.duplicated += n - 1
		}
	}
	c.lost = len(sent) - c.delivered
	return c
}

// sinkTally counts the sink's accepted deliveries of sub against sent; a repeat under the same
// webhook-id (a redelivery the receiver deduplicates) is not a duplicate.
func (w *faultWorld) sinkTally(sub string, sent []string) (tally, int) {
	var ids []string
	redelivered := 0
	seenHook := map[string]bool{}
	for _, r := range w.sink.requests() {
		if r.Sub != sub {
			continue
		}
		require.NoError(w.t, r.VerifyErr, "every delivery is signed with the subscription's secret")
		if seenHook[r.WebhookID] {
			redelivered++
			continue
		}
		seenHook[r.WebhookID] = true
		ids = append(ids, r.Item)
	}
	return count(sent, ids), redelivered
}

// maxCallsIn60s is the most calls any of tokens made to the emulator in any 60 s, retries included.
func (w *faultWorld) maxCallsIn60s(tokens ...string) int {
	w.t.Helper()
	most := 0
	for _, token := range tokens {
		calls, err := w.sim.CallsOf(w.ctx, token)
		require.NoError(w.t, err)
		most = max(most, calls.MaxInAny60s)
	}
	return most
}

// clockSink is a callback receiver on the injected clock: it verifies each signature (Standard
// Webhooks) and that webhook-timestamp is within 5 minutes of the injected now, as a receiver
// would on wall time. It answers 204.
type clockSink struct {
	srv     *httptest.Server
	clock   *manualclock.Clock
	mu      sync.Mutex
	secrets map[string]string
	got     []testkit.Received
}

func newClockSink(t *testing.T, clock *manualclock.Clock) *clockSink {
	s := &clockSink{clock: clock, secrets: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *clockSink) URL() string { return s.srv.URL + "/hook" }

func (s *clockSink) Trust(sub, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[sub] = secret
}

func (s *clockSink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := testkit.Received{WebhookID: r.Header.Get("webhook-id"), Sub: r.Header.Get(webhook.HeaderSubscription), Body: body, Status: http.StatusNoContent}
	s.mu.Lock()
	secret := s.secrets[rec.Sub]
	s.mu.Unlock()
	if wh, err := standardwebhooks.NewWebhook(secret); err != nil {
		rec.VerifyErr = err
	} else if rec.VerifyErr = wh.VerifyIgnoringTimestamp(body, r.Header); rec.VerifyErr == nil {
		sent, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		if skew := s.clock.Now().Sub(time.Unix(sent, 0)); err != nil || skew > 5*time.Minute || skew < -5*time.Minute {
			rec.VerifyErr = fmt.Errorf("webhook-timestamp %q is not the injected now %s", r.Header.Get("webhook-timestamp"), s.clock.Now())
		}
	}
	var item struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &item) == nil {
		rec.Item = item.ID
	}
	s.mu.Lock()
	s.got = append(s.got, rec)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *clockSink) requests() []testkit.Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]testkit.Received(nil), s.got...)
}
