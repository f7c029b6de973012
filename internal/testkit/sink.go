package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Received is one request a Sink got.
type Received struct {
	WebhookID string
	Timestamp string
	Event     string
	Sub       string
	CatchUp   string
	Body      []byte
	Status    int       // what the sink answered
	VerifyErr error     // Standard Webhooks verification with the subscription's secret
	Item      string    // the payload's "id"
	At        time.Time // when the sink received it (wall clock)
}

// Sink is a real HTTP callback receiver. Its answer function picks the status of the n-th request
// (from 0); nil means 204. It verifies each request's signature with the secret of the
// subscription it names (Trust).
type Sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []Received
	secrets map[string]string // subscription id → secret
	answer  func(n int, r *http.Request) int
	header  http.Header // added to every answer
}

// NewSink starts a sink, closed at the test's end.
func NewSink(t testing.TB, answer func(n int, r *http.Request) int) *Sink {
	t.Helper()
	s := &Sink{secrets: map[string]string{}, answer: answer, header: http.Header{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// Trust tells the sink the secret that signs subscription id's deliveries.
func (s *Sink) Trust(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = secret
}

// SetHeader adds a header to every later answer.
func (s *Sink) SetHeader(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header.Set(key, value)
}

// SetAnswer replaces the answer function.
func (s *Sink) SetAnswer(answer func(n int, r *http.Request) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.got)
	secret := s.secrets[r.Header.Get(webhook.HeaderSubscription)]
	answer := s.answer
	header := s.header.Clone()
	s.mu.Unlock()
	status := http.StatusNoContent
	if answer != nil {
		status = answer(n, r)
	}
	rec := Received{
		WebhookID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Event: r.Header.Get(webhook.HeaderEventType), Sub: r.Header.Get(webhook.HeaderSubscription),
		CatchUp: r.Header.Get(webhook.HeaderCatchUp), Body: body, Status: status, At: time.Now(),
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
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

// Requests returns what the sink got so far.
func (s *Sink) Requests() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Accepted returns, per subscription, the payload ids of the requests answered 2xx, in arrival
// order.
func (s *Sink) Accepted() map[string][]string {
	out := map[string][]string{}
	for _, r := range s.Requests() {
		if r.Status >= 200 && r.Status <= 299 {
			out[r.Sub] = append(out[r.Sub], r.Item)
		}
	}
	return out
}

// URL returns the sink's callback URL.
func (s *Sink) URL() string { return s.srv.URL + "/hook" }
