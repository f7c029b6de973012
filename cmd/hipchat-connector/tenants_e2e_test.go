package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
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

// With 50 hanging callback endpoints (4 subscriptions each, each endpoint a new host:port) and one
// healthy subscription on the same connector, the healthy subscription's events arrive while the
// hanging attempts wait out their 30 s timeout: slow receivers cost themselves, not their neighbours.
// "While they wait" is read from the connector, not from a stopwatch: when the last healthy event
// has arrived, no attempt but the healthy ones has ended (attempts_total counts an attempt when it
// ends, a hanging one at its timeout, as a retry).
func TestHangingReceiversDoNotSlowAHealthySubscription(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-poll-schedule", "@every 1s", "-push=false", "-allow-private-callbacks",
		"-callback-timeout", "30s", "-callback-rate", "0")
	// Eight tokens share the 200 hanging subscriptions (each subscribe is two HipChat calls of its
	// token, the room and the baseline: 50 of a token's 90 for actions).
	var tokens []string
	for i := range 8 {
		email := fmt.Sprintf("busy%d@example.com", i)
		w.sim.createUser(fmt.Sprintf("Busy %d", i), fmt.Sprintf("busy%d", i), email, testPassword)
		tokens = append(tokens, w.sim.userToken(email, testPassword, ""))
	}
	busy := w.sim.createRoom(w.annToken, "Busy", "public")
	for e := range 50 {
		url := testkit.HangingReceiver(t)
		for s := range 4 {
			a := c.do("POST", fmt.Sprintf("/subscriptions/rooms/%d/messages", busy), bearerHeader(tokens[(e*4+s)%len(tokens)]),
				mustJSON(map[string]string{"callbackUrl": url}))
			require.Equal(t, http.StatusCreated, a.Status, a.Body)
		}
	}
	sk := newCrashSink(t)
	calm := w.sim.createRoom(w.annToken, "Calm", "public")
	healthy := c.subscribeSink(w.annToken, calm, sk)

	w.sim.mustCall("POST", fmt.Sprintf("/v2/room/%d/message", busy), w.annToken, map[string]string{"message": "to the hanging ones"}, nil)
	require.Eventually(t, func() bool {
		return strings.Contains(c.do("GET", "/metrics", "", "").Body, "hipchat_connector_callback_endpoints_slow 50")
	}, time.Minute, 50*time.Millisecond, "every hanging endpoint was tried and found slow")

	var posted []time.Time
	want := map[string][]string{healthy: nil}
	for i := range 20 {
		var msg struct{ ID string }
		w.sim.mustCall("POST", fmt.Sprintf("/v2/room/%d/message", calm), w.annToken, map[string]string{"message": fmt.Sprintf("calm %d", i)}, &msg)
		want[healthy] = append(want[healthy], msg.ID)
		posted = append(posted, time.Now())
		time.Sleep(100 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return sk.hasAll(want) }, time.Minute, 20*time.Millisecond,
		"the healthy subscription's events arrive")
	for _, result := range []string{"retry", "dead", "gone"} {
		assert.Zero(t, metricValue(t, c, `hipchat_connector_delivery_attempts_total{result="`+result+`"}`),
			"the healthy events arrived while every hanging attempt still waited for its 30 s timeout (before, they waited for it)")
	}
	lags := sk.lagsAfter(healthy, want[healthy], posted)
	t.Logf("healthy post→delivered (1 s poll): p50 %s, max %s", lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
}

// subscribeSink subscribes sk to the new messages of room with token and returns the subscription id.
func (c *connectorUnderTest) subscribeSink(token string, room int, sk *crashSink) string {
	c.tb.Helper()
	a := c.do("POST", fmt.Sprintf("/subscriptions/rooms/%d/messages", room), bearerHeader(token),
		mustJSON(map[string]string{"callbackUrl": sk.srv.URL + "/hook"}))
	require.Equal(c.tb, http.StatusCreated, a.Status, a.Body)
	var sub struct{ ID, Secret string }
	require.NoError(c.tb, json.Unmarshal([]byte(a.Body), &sub))
	sk.trust(sub.ID, sub.Secret)
	return sub.ID
}

// lagsAfter returns, sorted, how long after posted[i] message ids[i] of sub first arrived.
func (s *crashSink) lagsAfter(sub string, ids []string, posted []time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	firstAt := map[string]time.Time{}
	for _, h := range s.got {
		if _, seen := firstAt[h.item]; h.sub == sub && !seen {
			firstAt[h.item] = h.at
		}
	}
	var lags []time.Duration
	for i, id := range ids {
		lags = append(lags, firstAt[id].Sub(posted[i]))
	}
	slices.Sort(lags)
	return lags
}
