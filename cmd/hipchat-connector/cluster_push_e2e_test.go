package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

// roundRobin is a load balancer in front of the replicas: each request goes to the next backend,
// and on to the one after when a backend does not answer (a stopped replica).
type roundRobin struct {
	mu       sync.Mutex
	backends []string
	next     int
	client   *http.Client
}

func (lb *roundRobin) set(backends ...string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = backends
}

func (lb *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lb.mu.Lock()
	order := make([]string, 0, len(lb.backends))
	for i := range lb.backends {
		order = append(order, lb.backends[(lb.next+i)%len(lb.backends)])
	}
	lb.next++
	lb.mu.Unlock()
	for _, backend := range order {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, backend+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			continue
		}
		req.Header = r.Header.Clone()
		resp, err := lb.client.Do(req)
		if err != nil {
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}

// Push with three replicas behind one public URL: HipChat's doorbells reach any replica (round
// robin), the owner of the feed's connection reads it, and the others hand their doorbells to it
// through etcd. With a poll schedule of an hour (no scheduled tick during the test), every message is
// delivered, on its doorbell, and every doorbell is answered 204, also after the owner of most feeds
// stopped (the new owner reads its feeds at once and takes over their webhooks, registering none
// twice).
func TestPushWithReplicasBehindOneURL(t *testing.T) {
	if testing.Short() {
		t.Skip("three replicas, push and a failover: seconds")
	}
	etcd := etcdtest.Start(t)
	emu := startEmulator(t)
	ctx := context.Background()
	lb := &roundRobin{client: &http.Client{Timeout: 10 * time.Second}}
	public := httptest.NewServer(lb)
	t.Cleanup(public.Close)
	sink := newPushSink(t)
	args := []string{"-etcd-endpoints", etcd.Endpoint, "-etcd-prefix", "/push", "-etcd-lease-ttl", "1s",
		"-key-file", filepath.Join(t.TempDir(), "push.key"), "-poll-schedule", "@every 1h",
		"-allow-private-callbacks", "-public-url", public.URL}
	replicas := []*connectorUnderTest{startConnector(t, emu.URL, args...), startConnector(t, emu.URL, args...), startConnector(t, emu.URL, args...)}
	lb.set(replicas[0].URL, replicas[1].URL, replicas[2].URL)

	const rooms = 3
	type room struct{ id, token, sub string }
	var all []room
	for i := range rooms {
		person, err := emu.client.NewPerson(ctx, emu.admin, fmt.Sprintf("Push Poster %d", i), fmt.Sprintf("pushposter%d", i))
		require.NoError(t, err)
		id, err := emu.client.CreateRoom(ctx, person.Token, fmt.Sprintf("Push room %d", i), "public")
		require.NoError(t, err)
		r := room{id: strconv.Itoa(id), token: person.Token}
		answer := replicas[i].do("POST", "/subscriptions/rooms/"+r.id+"/messages", bearerHeader(r.token),
			mustJSON(map[string]string{"callbackUrl": sink.srv.URL}))
		require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
		var sub struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
		r.sub = sub.ID
		all = append(all, r)
	}
	doorbellsOf := func(r room) int {
		hooks, err := emu.client.ListWebhooks(ctx, r.token, r.id)
		require.NoError(t, err)
		n := 0
		for _, h := range hooks {
			if strings.HasPrefix(h.URL, public.URL+"/hipchat/rooms/") {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool {
		for _, r := range all {
			if doorbellsOf(r) != 3 {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "each room's owner registers its three doorbells at the public URL; logs:\n%s\n%s\n%s",
		replicas[0].Logs, replicas[1].Logs, replicas[2].Logs)

	// GetSubscription through any replica shows the owner's push state (and poll plan, once the
	// owner has one: after its first tick).
	for _, r := range all {
		for i, c := range replicas {
			answer := &connectorAnswer{}
			require.Eventually(t, func() bool {
				var view struct {
					Push *struct{ State string }
				}
				*answer = c.do("GET", "/subscriptions/"+r.sub, bearerHeader(r.token), "")
				return answer.Status == http.StatusOK && json.Unmarshal([]byte(answer.Body), &view) == nil &&
					view.Push != nil && view.Push.State == "on"
			}, 10*time.Second, 50*time.Millisecond, "room %s through replica %d: the owner's push state; last answer %+v", r.id, i, answer)
		}
	}

	var latencies []time.Duration
	postAndWait := func(round string) {
		posted := map[string]time.Time{}
		for k := range 5 {
			for _, r := range all {
				id, err := emu.client.PostMessage(ctx, r.token, r.id, fmt.Sprintf("%s %d in %s", round, k, r.id))
				require.NoError(t, err)
				posted[id] = time.Now()
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Eventually(t, func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			for id := range posted {
				if _, ok := sink.arrived[id]; !ok {
					return false
				}
			}
			return true
		}, 2*time.Minute, 20*time.Millisecond, "%s: every message delivered on its doorbell (no scheduled tick for an hour)", round)
		sink.mu.Lock()
		for id, at := range posted {
			latencies = append(latencies, sink.arrived[id].Sub(at))
		}
		sink.mu.Unlock()
	}
	postAndWait("before")

	victim, most := 0, -1
	for i, c := range replicas {
		if n := feedsOwned(t, c); n > most {
			victim, most = i, n
		}
	}
	replicas[victim].Stop()
	var survivors []string
	for i, c := range replicas {
		if i != victim {
			survivors = append(survivors, c.URL)
		}
	}
	lb.set(survivors...)
	postAndWait("after")

	calls, err := emu.client.WebhookCalls(ctx)
	require.NoError(t, err)
	answered, ours := map[int]int{}, 0
	for _, c := range calls {
		if strings.HasPrefix(c.URL, public.URL) {
			answered[c.Status]++
			ours++
		}
	}
	forwarded := 0
	for i, c := range replicas {
		if i != victim {
			forwarded += metricValue(t, c, "hipchat_connector_cluster_doorbells_forwarded_total")
		}
	}
	slices.Sort(latencies)
	t.Logf("replica %d (owning %d feeds) stopped between the rounds; doorbell answers by status: %v; forwarded by the survivors: %d; post → delivery p50 %s, max %s",
		victim, most, answered, forwarded, latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	assert.Positive(t, answered[http.StatusNoContent])
	assert.Equal(t, ours, answered[http.StatusNoContent], "every doorbell answered 204: %v", answered)
	assert.Positive(t, forwarded, "doorbells that reached a replica other than the owner were handed on")
	for _, r := range all {
		assert.Equal(t, 3, doorbellsOf(r), "room %s: the new owner took over the doorbells, registering none twice", r.id)
	}
}

// metricValue reads an unlabelled counter or gauge from a replica's /metrics (0 when absent).
func metricValue(t *testing.T, c *connectorUnderTest, name string) int {
	t.Helper()
	for _, line := range strings.Split(c.do("GET", "/metrics", "", "").Body, "\n") {
		if value, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			require.NoError(t, err, line)
			return int(f)
		}
	}
	return 0
}
