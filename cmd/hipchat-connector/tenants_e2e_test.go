package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// countedHipChat is the emulator behind a counter of every request that reaches it with a token the
// emulator does not know (the emulator's own /_sim/calls counts only its tokens).
type countedHipChat struct {
	*simUnderTest
	unknown atomic.Int64
}

func startCountedEmulator(t *testing.T, known func() map[string]bool) *countedHipChat {
	sim, err := hipchatsim.New(hipchatsim.Options{})
	require.NoError(t, err)
	h := &countedHipChat{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasPrefix(r.URL.Path, "/v2/") && !known()[token] && token != sim.AdminToken() {
			h.unknown.Add(1)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	h.simUnderTest = &simUnderTest{tb: t, URL: ts.URL, admin: sim.AdminToken(), client: simclient.New(ts.URL)}
	return h
}

// 5,000 invented tokens sprayed at the connector cost HipChat a small fixed number of calls, and
// a connection HipChat accepted before the spray is served as usual during it.
func TestInventedTokensAreNotAFreeHipChatProxy(t *testing.T) {
	var annToken string
	hipchat := startCountedEmulator(t, func() map[string]bool { return map[string]bool{annToken: true} })
	hipchat.createUser("Ann Example", "ann", "ann@example.com", testPassword)
	annToken = hipchat.userToken("ann@example.com", testPassword, "")
	c := startConnector(t, hipchat.URL)
	require.Equal(t, http.StatusOK, c.do("GET", "/users/@ann", bearerHeader(annToken), "").Status, "Ann's token: verified")

	start := time.Now()
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				a := c.do("GET", "/users/@ann", bearerHeader(fmt.Sprintf("invented-%04d", i)), "")
				mu.Lock()
				statuses[a.Status]++
				mu.Unlock()
				if a.Status == http.StatusTooManyRequests {
					assert.NotEmpty(t, a.Header.Get("Retry-After"))
				}
			}
		})
	}
	annServed := 0
	for i := range 5000 {
		work <- i
		if i%500 == 0 {
			if c.do("GET", "/users/@ann", bearerHeader(annToken), "").Status == http.StatusOK {
				annServed++
			}
		}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)

	t.Logf("5,000 invented tokens in %s: %v; HipChat saw %d of their calls", elapsed.Round(time.Millisecond), statuses, hipchat.unknown.Load())
	assert.Equal(t, 10, annServed, "Ann's actions during the spray")
	allowed := 20 + int(elapsed.Seconds()/2) + 1 // the burst, then one every 2 s
	assert.LessOrEqual(t, int(hipchat.unknown.Load()), allowed, "HipChat calls of the invented tokens")
	assert.Equal(t, int(hipchat.unknown.Load()), statuses[http.StatusUnauthorized], "each call that reached HipChat was rejected there, no more")
	assert.Equal(t, 5000-statuses[http.StatusUnauthorized], statuses[http.StatusTooManyRequests])
}

// A graceful restart in the middle of 240 calls of one token keeps HipChat's count within 100 in
// any 60 s: the second process starts with the first one's window.
func TestAGracefulRestartKeepsTheConnectionsBudget(t *testing.T) {
	w := newWorld(t)
	db := filepath.Join(t.TempDir(), "restart.db")
	burst := func(c *connectorUnderTest) map[int]int {
		statuses := map[int]int{}
		for range 120 {
			statuses[c.do("GET", "/users/@bob", bearerHeader(w.annToken), "").Status]++
		}
		return statuses
	}
	first := startConnector(t, w.sim.URL, "-db", db)
	before := burst(first)
	first.Stop()
	second := startConnector(t, w.sim.URL, "-db", db)
	after := burst(second)

	t.Logf("first process %v, second %v", before, after)
	calls := w.sim.calls(w.annToken)
	assert.LessOrEqual(t, calls.MaxInAny60s, 100, "HipChat never saw more than 100 calls of Ann's token in 60 s")
	assert.Positive(t, before[http.StatusOK])
	assert.Zero(t, after[http.StatusOK], "the first process spent the foreground share of the window")
	assert.Equal(t, 120, after[http.StatusTooManyRequests])
}
