// Command devsink is a callback endpoint for local demos. It listens on -addr, prints
// "listening on http://ADDR", and answers every POST: 204 when its Standard Webhooks signature
// verifies with the secret of the subscription it names, 503 (so the connector retries) when that
// subscription is not yet in -secrets, 401 when the signature is wrong. For each accepted delivery it
// prints one line: "delivered HH:MM:SS item=ID sub=SUB webhook-id=WID message=TEXT". It runs until
// SIGINT or SIGTERM. scripts/ha-demo.sh uses it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hipchat-connector/hipchat-connector/internal/serveuntil"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devsink:", err)
		os.Exit(1)
	}
}

// run serves the sink until ctx ends. Errors: bad flags, a busy -addr.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devsink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "`host:port` to listen on")
	secrets := fs.String("secrets", "", "`file` of \"subscription-id secret\" lines, read again at each delivery (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secrets == "" {
		return errors.New("-secrets is required")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := &sink{secrets: *secrets, out: stdout}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	return serveuntil.Serve(ctx, hs, ln, 2*time.Second)
}

// sink verifies and prints deliveries; out is written under mu so lines never interleave.
type sink struct {
	secrets string
	mu      sync.Mutex
	out     io.Writer
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
	secret := s.secretOf(sub)
	if secret == "" {
		http.Error(w, "unknown subscription, try again", http.StatusServiceUnavailable)
		return
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	if err != nil {
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
		return
	}
	var item struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &item) // a payload without them prints empty fields
	s.mu.Lock()
	fmt.Fprintf(s.out, "delivered %s item=%s sub=%s webhook-id=%s message=%q\n",
		time.Now().Format("15:04:05"), item.ID, sub, r.Header.Get("webhook-id"), item.Message)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
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
		if ok && id == sub && sub != "" {
			return secret
		}
	}
	return ""
}
