package poller_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// clock is a settable clock shared by the store, the poller and the deliverer. It starts at the
// wall clock so that standardwebhooks' timestamp tolerance (5 minutes) holds while a test advances
// it by seconds.
type clock = manualclock.Clock

func newClock() *clock { return manualclock.New(time.Now().UTC().Truncate(time.Second)) }

// openStore opens a real bbolt file under t.TempDir(); cleanup checks its consistency and closes it.
func openStore(t testing.TB, clk *clock) *state.Store {
	t.Helper()
	key := make([]byte, state.KeyLength)
	for i := range key {
		key[i] = byte(i)
	}
	store, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{Key: key, Now: clk.Now, Timeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := store.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		require.NoError(t, store.Close())
	})
	return store
}

// addSubscription stores an active subscription with a fresh secret.
func addSubscription(t testing.TB, store *state.Store, conn connector.Connection, kind, room, callback string, cursor []byte) state.Subscription {
	t.Helper()
	secret, err := poller.NewSecret()
	require.NoError(t, err)
	sub, err := store.CreateSubscription(state.Subscription{
		ConnectionID: conn.ID, Kind: kind, RoomID: room, CallbackURL: callback,
		Token: conn.Token(), Secret: secret, HipChatURL: conn.BaseURL, Cursor: cursor,
	})
	require.NoError(t, err)
	return sub
}

// received is one request a sink got.
type received struct {
	WebhookID string
	Timestamp string
	Event     string
	Sub       string
	CatchUp   string
	Body      []byte
	Status    int    // what the sink answered
	VerifyErr error  // standardwebhooks verification with the subscription's secret
	Item      string // the payload's "id"
}

// sink is a real HTTP receiver. answer picks the status of the n-th request (from 0); nil means 204.
// It verifies each request's signature with the secret of the subscription it names.
type sink struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	secrets map[string]string // subscription id → secret
	answer  func(n int, r *http.Request) int
	header  http.Header // added to every answer
}

func newSink(t testing.TB, answer func(n int, r *http.Request) int) *sink {
	t.Helper()
	s := &sink{t: t, secrets: map[string]string{}, answer: answer, header: http.Header{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) trust(subs ...state.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range subs {
		s.secrets[sub.ID] = sub.Secret
	}
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.got)
	secret := s.secrets[r.Header.Get(poller.HeaderSubscription)]
	s.mu.Unlock()
	status := http.StatusNoContent
	if s.answer != nil {
		status = s.answer(n, r)
	}
	rec := received{
		WebhookID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Event: r.Header.Get(poller.HeaderEventType), Sub: r.Header.Get(poller.HeaderSubscription),
		CatchUp: r.Header.Get(poller.HeaderCatchUp), Body: body, Status: status,
	}
	if secret == "" {
		rec.VerifyErr = fmt.Errorf("no secret for subscription %q", rec.Sub)
	} else if wh, err := standardwebhooks.NewWebhook(secret); err != nil {
		rec.VerifyErr = err
	} else {
		rec.VerifyErr = wh.Verify(body, r.Header)
	}
	var item struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &item) == nil {
		var str string
		if json.Unmarshal(item.ID, &str) == nil {
			rec.Item = str
		} else {
			rec.Item = string(item.ID)
		}
	}
	s.mu.Lock()
	s.got = append(s.got, rec)
	s.mu.Unlock()
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

// requests returns what the sink got so far.
func (s *sink) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// accepted returns, per subscription, the payload ids of the requests answered 2xx, in arrival order.
func (s *sink) accepted() map[string][]string {
	out := map[string][]string{}
	for _, r := range s.requests() {
		if r.Status >= 200 && r.Status <= 299 {
			out[r.Sub] = append(out[r.Sub], r.Item)
		}
	}
	return out
}

// url returns the sink's callback URL.
func (s *sink) url() string { return s.srv.URL + "/hook" }

// newDeliverer returns a deliverer on the test clock, allowed to reach the loopback sink, with
// jitter off.
func newDeliverer(t testing.TB, store *state.Store, clk *clock, opts poller.DelivererOptions) *poller.Deliverer {
	t.Helper()
	opts.Store = store
	opts.Now = clk.Now
	opts.AllowPrivateCallbacks = true
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration { return d }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := poller.NewDeliverer(opts)
	require.NoError(t, err)
	return d
}

// queue commits events with the given ids (payload {"id": id}) for sub, as the poller would.
func queue(t testing.TB, store *state.Store, sub state.Subscription, ids ...string) {
	t.Helper()
	var events []state.Event
	for _, id := range ids {
		payload, _ := json.Marshal(map[string]string{"id": id})
		events = append(events, state.Event{ID: id, Type: "message.posted", Payload: payload})
	}
	require.NoError(t, store.CommitFeed([]state.CursorAdvance{{SubscriptionID: sub.ID, Events: events}}))
}
