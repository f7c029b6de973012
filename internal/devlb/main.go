// Command devlb is a round-robin load balancer for local demos, the one URL that stands for several
// replicas. It listens on -addr, prints "listening on http://ADDR", and passes each request to the
// next of the base URLs listed in -backends (one a line, the file read again at each request, so a
// script adds replicas as they start). A backend that cannot be reached (a killed replica) is
// passed over for the next; when none can be, or none is listed, the answer is 502. Bodies are held
// in memory to be sent again, so a request body over 1 MiB is refused with 413. It runs until
// SIGINT or SIGTERM. scripts/ha-demo.sh uses it as every replica's -public-url, where HipChat's
// room webhooks call.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hipchat-connector/hipchat-connector/internal/serveuntil"
)

// maxBody is the largest request body the balancer holds to send again.
const maxBody = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devlb:", err)
		os.Exit(1)
	}
}

// run serves the balancer until ctx ends. Errors: bad flags, a busy -addr.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devlb", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "`host:port` to listen on")
	backends := fs.String("backends", "", "`file` of backend base URLs, one a line, read again at each request (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *backends == "" {
		return errors.New("-backends is required")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: newBalancer(*backends), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	return serveuntil.Serve(ctx, hs, ln, 2*time.Second)
}

// balancer passes requests to its backends in turn.
type balancer struct {
	backends string // the file naming them
	client   *http.Client
	mu       sync.Mutex
	turn     int // the backend the last request went to first
}

func newBalancer(backends string) *balancer {
	return &balancer{backends: backends, client: &http.Client{
		Timeout: 30 * time.Second,
		// A redirect goes back to the caller as it came.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("devlb: the request body is over %d bytes", maxBody), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, fmt.Sprintf("devlb: reading the request body: %v", err), http.StatusBadRequest)
		return
	}
	backends, err := b.list()
	switch {
	case err != nil:
		http.Error(w, "devlb: "+err.Error(), http.StatusBadGateway)
		return
	case len(backends) == 0:
		http.Error(w, fmt.Sprintf("devlb: no backend listed in %s yet", b.backends), http.StatusBadGateway)
		return
	}
	b.mu.Lock()
	b.turn = (b.turn + 1) % len(backends)
	first := b.turn
	b.mu.Unlock()
	var failures []string
	for i := range backends {
		base := backends[(first+i)%len(backends)]
		resp, err := b.forward(r, base, body)
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	http.Error(w, "devlb: no backend answered: "+strings.Join(failures, "; "), http.StatusBadGateway)
}

// forward sends r, with body, to the backend at base. Errors: the backend cannot be reached or did
// not answer.
func (b *balancer) forward(r *http.Request, base *url.URL, body []byte) (*http.Response, error) {
	target := *base
	target.Path = strings.TrimSuffix(base.Path, "/") + r.URL.Path
	target.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return b.client.Do(req) // #nosec G704 -- the host is one the operator listed in -backends; the caller chooses only the path
}

// list reads the backends file: one absolute http(s) URL a line, blank lines and # comments
// passed over. Errors: the file cannot be read, a line is not such a URL.
func (b *balancer) list() ([]*url.URL, error) {
	f, err := os.Open(b.backends)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*url.URL
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		line := strings.TrimSpace(lines.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := url.Parse(line)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s line %d: %q is not an http(s) URL", b.backends, n, line)
		}
		out = append(out, u)
	}
	return out, lines.Err()
}
