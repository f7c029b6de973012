// Command devsink is a callback endpoint for local demos and load runs. It listens on -addr, prints
// "listening on http://ADDR", and answers every POST: 204 when its Standard Webhooks signature
// verifies with the secret of the subscription it names, 503 (so the connector retries) when that
// subscription is not yet in -secrets, 401 when the signature is wrong. For each accepted delivery it
// prints one line, "delivered HH:MM:SS item=ID sub=SUB webhook-id=WID message=TEXT", unless -quiet.
// GET /stats answers what it accepted so far (stats.go): scripts/e2e-load.sh checks exactly-once
// with it; with -arrivals, GET /arrivals answers when each event first arrived (latency runs). It runs until SIGINT or SIGTERM. scripts/ha-demo.sh uses it too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hipchat-connector/hipchat-connector/internal/serveuntil"
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
	secrets := fs.String("secrets", "", "`file` of \"subscription-id secret\" lines, read again whenever a delivery names a subscription not yet known (required)")
	quiet := fs.Bool("quiet", false, "print no line per delivery (a load run); GET /stats tells what arrived")
	arrivals := fs.Bool("arrivals", false, "keep when each event (by the payload's id) first arrived, for GET /arrivals")
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
	s := newSink(*secrets, *quiet, stdout)
	if *arrivals {
		s.count.arrived = map[string]time.Time{}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /stats", http.HandlerFunc(s.serveStats))
	mux.Handle("GET /arrivals", http.HandlerFunc(s.serveArrivals))
	mux.Handle("/", s)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	return serveuntil.Serve(ctx, hs, ln, 2*time.Second)
}
