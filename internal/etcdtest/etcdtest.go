// Package etcdtest starts an embedded etcd server for tests: one member on
// 127.0.0.1 with free ports and its data in t.TempDir(), stopped in cleanup.
package etcdtest

import (
	"net"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startTimeout bounds the wait for the embedded member to be ready.
const startTimeout = 20 * time.Second

// Server is a running embedded etcd member.
type Server struct {
	// Endpoint is the client URL, e.g. "http://127.0.0.1:40123".
	Endpoint string
}

// Start starts a single-member etcd on loopback and stops it when the test
// ends, without fsync (tests commit often). It fails the test when the member
// does not become ready.
func Start(t testing.TB) *Server { return start(t, false) }

// StartDurable is Start with etcd's fsync on, as a production member runs: for
// benchmarks that compare etcd with the bbolt store, which fsyncs each commit.
func StartDurable(t testing.TB) *Server { return start(t, true) }

func start(t testing.TB, fsync bool) *Server {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.Name = "storetest"
	clientURL := freeURL(t)
	peerURL := freeURL(t)
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	// Quiet: a stopping member logs its closed listeners as errors. Failures to start surface
	// through StartEtcd and Err.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Tests commit often: no fsync wait beyond what the OS gives unless asked, and quick elections.
	cfg.UnsafeNoFsync = !fsync
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("etcdtest: start embedded etcd: %v", err)
	}
	t.Cleanup(func() {
		e.Close()
		<-e.Server.StopNotify()
	})
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcdtest: embedded etcd failed: %v", err)
	case <-time.After(startTimeout):
		e.Server.Stop()
		t.Fatalf("etcdtest: embedded etcd not ready after %s", startTimeout)
	}
	return &Server{Endpoint: clientURL.String()}
}

// Client returns a client of s, closed when the test ends.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints: []string{s.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// freeURL picks a free loopback port. The port is released before etcd binds
// it; another process taking it in between is possible but rare.
func freeURL(t testing.TB) url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return url.URL{Scheme: "http", Host: addr}
}
