package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/stretchr/testify/require"
)

// BenchmarkActionOverhead measures the latency an action adds over calling HipChat directly: 64
// concurrent callers over 1,000 connections (tokens), the emulator answering every call after 20 ms
// (a stand-in for the internet). In one run, the callers make b.N direct calls to the emulator
// (GET /v2/user/@ann) interleaved with b.N of the same action through the connector (GET /users/@ann,
// GetUserByID), so that both see the same load, and then b.N actions alone for the throughput. It
// reports both latency distributions, their difference at p50 and p99, and actions per second. Each
// connection may make 90 actions per 61 s and the run makes 2·b.N/1,000 per connection, so keep b.N at
// most 45,000 (e.g. -benchtime=20000x):
//
//	go test -run '^$' -bench BenchmarkActionOverhead -benchtime=20000x ./cmd/hipchat-connector/
func BenchmarkActionOverhead(b *testing.B) {
	const (
		callers     = 64
		connections = 1000
		users       = 100 // personal tokens per user: connections / users
		delay       = 20 * time.Millisecond
	)
	sim := startEmulator(b)
	sim.createUser("Ann Example", "ann", "ann@example.com", testPassword)
	tokens := make([]string, 0, connections)
	for u := range users {
		mention := fmt.Sprintf("user%d", u)
		sim.createUser("User "+mention, mention, mention+"@example.com", testPassword)
		for range connections / users {
			tokens = append(tokens, sim.personalToken("@"+mention))
		}
	}
	// The connector has served these 1,000 tokens before: its store remembers HipChat accepted them,
	// so its gate for tokens not yet accepted (a burst of 20, then one every 2 s) holds none back.
	db := filepath.Join(b.TempDir(), "connector.db")
	rememberConnections(b, db, sim.URL, tokens)
	c := startConnector(b, sim.URL, "-db", db)
	sim.fault(simclient.Fault{DelayMS: int(delay.Milliseconds())})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers, MaxIdleConns: 2 * callers}, Timeout: 30 * time.Second}
	direct := func(token string) *http.Request {
		req, _ := http.NewRequest("GET", sim.URL+"/v2/user/@ann", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
	viaConnector := func(token string) *http.Request {
		req, _ := http.NewRequest("GET", c.URL+"/users/@ann", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
	// Warm both paths up: connection pools, the connector's per-connection state.
	if _, _, err := measure(client, callers, 2*callers, tokens, func(i int, token string) *http.Request {
		if i%2 == 0 {
			return direct(token)
		}
		return viaConnector(token)
	}); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	// Latency: direct calls and actions interleaved, so that both see the same load.
	mixed, _, err := measure(client, callers, 2*b.N, tokens, func(i int, token string) *http.Request {
		if i%2 == 0 {
			return direct(token)
		}
		return viaConnector(token)
	})
	if err != nil {
		b.Fatal(err)
	}
	var directLatencies, connectorLatencies []time.Duration
	for i, l := range mixed {
		if i%2 == 0 {
			directLatencies = append(directLatencies, l)
		} else {
			connectorLatencies = append(connectorLatencies, l)
		}
	}
	// Throughput: actions only.
	_, took, err := measure(client, callers, b.N, tokens, func(_ int, token string) *http.Request { return viaConnector(token) })
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	directP50, directP99 := testkit.Percentile(directLatencies, 50), testkit.Percentile(directLatencies, 99)
	viaP50, viaP99 := testkit.Percentile(connectorLatencies, 50), testkit.Percentile(connectorLatencies, 99)
	b.ReportMetric(ms(directP50), "direct-p50-ms")
	b.ReportMetric(ms(directP99), "direct-p99-ms")
	b.ReportMetric(ms(viaP50), "connector-p50-ms")
	b.ReportMetric(ms(viaP99), "connector-p99-ms")
	b.ReportMetric(ms(viaP50-directP50), "added-p50-ms")
	b.ReportMetric(ms(viaP99-directP99), "added-p99-ms")
	b.ReportMetric(float64(b.N)/took.Seconds(), "actions/s")
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "ns/op")
}

// measure makes n requests with callers goroutines, the i-th and the (i+1)-th with
// tokens[(i/2)%len(tokens)], and returns every latency and the wall time
// (testkit.MeasureLatencies). Any answer but 200 is an error.
func measure(client *http.Client, callers, n int, tokens []string, request func(i int, token string) *http.Request) ([]time.Duration, time.Duration, error) {
	return testkit.MeasureLatencies(client, callers, n, tokens, func(status int) bool { return status == http.StatusOK },
		func(i int, token string) []*http.Request { return []*http.Request{request(i, token)} })
}

// rememberConnections writes a bbolt store at db (its key file beside it, as serve finds it) that
// remembers the connections of tokens at hipchatURL as accepted by HipChat (connector.TokenMemory).
func rememberConnections(b *testing.B, db, hipchatURL string, tokens []string) {
	b.Helper()
	key, err := state.LoadOrCreateKeyFile(db + ".key")
	require.NoError(b, err)
	store, err := bolt.Open(db, bolt.Options{Key: key, Timeout: time.Second})
	require.NoError(b, err)
	ids := make([]string, len(tokens))
	for i, token := range tokens {
		ids[i] = connector.NewConnection(token, hipchatURL).ID
	}
	require.NoError(b, store.RememberConnections(ids))
	require.NoError(b, store.Close())
}
