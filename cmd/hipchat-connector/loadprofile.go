//go:build loadprofile

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles of a load run, in binaries built with -tags loadprofile only
	"os"
	"time"
)

// A binary built with -tags loadprofile (scripts/e2e-load.sh -p) serves Go's profiles
// (/debug/pprof/) on the loopback address in HIPCHAT_CONNECTOR_PPROF, and prints
// "pprof on http://ADDR" to stderr; the load run takes CPU profiles of the connector during its
// burst. Release builds have no such listener.
func init() {
	addr := os.Getenv("HIPCHAT_CONNECTOR_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
		return
	}
	fmt.Fprintf(os.Stderr, "pprof on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
}
