package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// sink verifies, counts and (unless quiet) prints deliveries. Its verifiers are read from the secrets
// file once per subscription; out and the counts are written under mu, so lines never interleave.
type sink struct {
	secrets string
	quiet   bool

	keysMu sync.RWMutex
	keys   map[string]*standardwebhooks.Webhook // by subscription id

	mu    sync.Mutex
	out   io.Writer
	count counts
}

func newSink(secrets string, quiet bool, out io.Writer) *sink {
	return &sink{secrets: secrets, quiet: quiet, out: out, keys: map[string]*standardwebhooks.Webhook{},
		count: counts{seen: map[string]struct{}{}}}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	sub := r.Header.Get(webhook.HeaderSubscription)
	wh := s.verifierOf(sub)
	if wh == nil {
		http.Error(w, "unknown subscription, try again", http.StatusServiceUnavailable)
		return
	}
	if err := wh.Verify(body, r.Header); err != nil {
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
		return
	}
	at := time.Now()
	id := r.Header.Get("webhook-id")
	var item struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	}
	line := ""
	if !s.quiet || s.count.arrived != nil {
		_ = json.Unmarshal(body, &item) // a payload without them prints empty fields
	}
	if !s.quiet {
		line = fmt.Sprintf("delivered %s item=%s sub=%s webhook-id=%s message=%q\n", at.Format("15:04:05"), item.ID, sub, id, item.Message)
	}
	s.mu.Lock()
	s.count.add(id, item.ID, at)
	if line != "" {
		_, _ = io.WriteString(s.out, line)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// verifierOf returns sub's verifier, reading the secrets file again when sub is not known yet; nil
// when it is not there (yet), the file cannot be read or the secret is not a Standard Webhooks one.
func (s *sink) verifierOf(sub string) *standardwebhooks.Webhook {
	if sub == "" {
		return nil
	}
	s.keysMu.RLock()
	wh := s.keys[sub]
	s.keysMu.RUnlock()
	if wh != nil {
		return wh
	}
	secret := s.secretOf(sub)
	if secret == "" {
		return nil
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil
	}
	s.keysMu.Lock()
	s.keys[sub] = wh
	s.keysMu.Unlock()
	return wh
}

// secretOf reads the secrets file and returns sub's secret, or "" when it is not there (yet) or the
// file cannot be read.
func (s *sink) secretOf(sub string) string {
	f, err := os.Open(s.secrets)
	if err != nil {
		return ""
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		id, secret, ok := strings.Cut(strings.TrimSpace(lines.Text()), " ")
		if ok && id == sub {
			return secret
		}
	}
	return ""
}
