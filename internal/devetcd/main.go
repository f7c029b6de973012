// Command devetcd runs a small etcd cluster for local demos: -members embedded members in one
// process, on 127.0.0.1 with free ports, their data under -dir. It prints the comma-separated client
// endpoints on one line once every member is ready ("endpoints: http://127.0.0.1:…,…") and runs
// until SIGINT or SIGTERM. It is a development tool (scripts/ha-demo.sh uses it when no etcd binary
// is on PATH), not a way to run etcd in production: one process is one failure domain.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// readyTimeout bounds the wait for the members to elect a leader and serve.
const readyTimeout = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devetcd:", err)
		os.Exit(1)
	}
}

// run starts the members, prints their client endpoints and waits for ctx to end, then stops them.
// Errors: bad flags, a member that fails to start or is not ready within readyTimeout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devetcd", flag.ContinueOnError)
	members := fs.Int("members", 3, "how many members to start (1 to 7)")
	dir := fs.String("dir", "", "`directory` under which each member keeps its data (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *members < 1 || *members > 7 {
		return fmt.Errorf("-members %d: want 1 to 7", *members)
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	configs, err := memberConfigs(*members, *dir)
	if err != nil {
		return err
	}
	var started []*embed.Etcd
	defer func() {
		for _, e := range started {
			e.Close()
		}
	}()
	// Start every member before waiting on any: a member is ready only once a quorum has joined.
	for _, cfg := range configs {
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			return fmt.Errorf("member %s: %w", cfg.Name, err)
		}
		started = append(started, e)
	}
	deadline := time.After(readyTimeout)
	for _, e := range started {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			return fmt.Errorf("member %s: %w", e.Config().Name, err)
		case <-deadline:
			return fmt.Errorf("members not ready after %s", readyTimeout)
		case <-ctx.Done():
			return nil
		}
	}
	endpoints := make([]string, len(configs))
	for i, cfg := range configs {
		endpoints[i] = cfg.AdvertiseClientUrls[0].String()
	}
	fmt.Fprintf(stdout, "endpoints: %s\n", strings.Join(endpoints, ","))
	<-ctx.Done()
	return nil
}

// memberConfigs returns the configuration of n members that form one cluster, each with its own
// free client and peer ports. Errors: no free port.
func memberConfigs(n int, dir string) ([]*embed.Config, error) {
	configs := make([]*embed.Config, n)
	var initial []string
	for i := range configs {
		clientURL, err := freeURL()
		if err != nil {
			return nil, err
		}
		peerURL, err := freeURL()
		if err != nil {
			return nil, err
		}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i+1)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenClientUrls = []url.URL{clientURL}
		cfg.AdvertiseClientUrls = []url.URL{clientURL}
		cfg.ListenPeerUrls = []url.URL{peerURL}
		cfg.AdvertisePeerUrls = []url.URL{peerURL}
		cfg.InitialClusterToken = "devetcd"
		// Quiet: a stopping member logs its closed listeners as errors; failures surface through
		// StartEtcd and Err.
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		configs[i] = cfg
		initial = append(initial, cfg.Name+"="+peerURL.String())
	}
	for _, cfg := range configs {
		cfg.InitialCluster = strings.Join(initial, ",")
	}
	return configs, nil
}

// freeURL picks a free loopback port. The port is released before etcd binds it; another process
// taking it in between is possible but rare.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, fmt.Errorf("free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return url.URL{Scheme: "http", Host: addr}, nil
}
