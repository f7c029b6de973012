package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

var blocksLine = regexp.MustCompile(`(?m)^hipchat_connector_cluster_budget_blocks_total (\d+)`)

// Three replicas on one etcd, one token: its four rooms' feeds are owned by one replica (a
// connection's feeds go together), polled every second, while callers hammer GetUserByID on all
// three replicas for 12 s. HipChat (the emulator's /_sim/calls) sees at most 100 calls of the token
// in any 60 s over all of them, and the budget is used (not merely idle): each replica alone would
// have let 90 actions through. Every action over budget is a 429 with Retry-After.
func TestReplicasShareOneConnectionsBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("three replicas hammered for 12 s")
	}
	etcd := etcdtest.Start(t)
	emu := startEmulator(t)
	ctx := context.Background()
	person, err := emu.client.NewPerson(ctx, emu.admin, "Budget Poster", "budgetposter")
	require.NoError(t, err)
	sink := testkit.NewSink(t, nil)
	args := []string{"-etcd-endpoints", etcd.Endpoint, "-etcd-prefix", "/budget", "-etcd-lease-ttl", "1s",
		"-key-file", filepath.Join(t.TempDir(), "budget.key"), "-poll-schedule", "@every 1s",
		"-allow-private-callbacks", "-push=false"}
	replicas := []*connectorUnderTest{startConnector(t, emu.URL, args...), startConnector(t, emu.URL, args...), startConnector(t, emu.URL, args...)}

	const rooms = 4
	var sub struct{ ID string }
	for i := range rooms {
		id, err := emu.client.CreateRoom(ctx, emu.admin, fmt.Sprintf("Budget room %d", i), "public") // not the token under test
		require.NoError(t, err)
		answer := replicas[i%3].do("POST", "/subscriptions/rooms/"+strconv.Itoa(id)+"/messages", bearerHeader(person.Token),
			mustJSON(map[string]string{"callbackUrl": sink.URL()}))
		require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
		require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
	}
	owned := awaitFeedsOwned(t, replicas, rooms, func(holders int) bool { return holders == 1 })
	t.Logf("feeds owned by the three replicas: %v (one connection: one owner)", owned)

	// GetSubscription through any replica shows the owner's poll plan of the connection.
	for i, c := range replicas {
		require.Eventually(t, func() bool {
			var view struct{ Poll *struct{ Feeds int } }
			answer := c.do("GET", "/subscriptions/"+sub.ID, bearerHeader(person.Token), "")
			return json.Unmarshal([]byte(answer.Body), &view) == nil && view.Poll != nil && view.Poll.Feeds == rooms
		}, 10*time.Second, 50*time.Millisecond, "replica %d shows the plan of the connection's %d feeds", i, rooms)
	}

	type tally struct{ ok, refused, other int }
	counts := make([]tally, len(replicas))
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(12 * time.Second)
	for i, c := range replicas {
		for range 3 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					answer := c.do("GET", "/users/"+strconv.Itoa(person.ID), bearerHeader(person.Token), "")
					mu.Lock()
					switch {
					case answer.Status == http.StatusOK:
						counts[i].ok++
					case answer.Status == http.StatusTooManyRequests && answer.Header.Get("Retry-After") != "":
						counts[i].refused++
					default:
						counts[i].other++
						t.Errorf("GetUserByID on replica %d: %d %s", i, answer.Status, answer.Body)
					}
					mu.Unlock()
					if answer.Status != http.StatusOK {
						time.Sleep(20 * time.Millisecond)
					}
				}
			})
		}
	}
	wg.Wait()

	calls := emu.calls(person.Token)
	served := 0
	for i, n := range counts {
		t.Logf("replica %d: %d actions served, %d refused with 429", i, n.ok, n.refused)
		served += n.ok
		assert.Positive(t, n.refused, "replica %d was held to the shared budget", i)
	}
	t.Logf("HipChat saw %d calls of the token, at most %d in any 60 s (limit 100); %d of them actions", calls.Total, calls.MaxInAny60s, served)
	assert.LessOrEqual(t, calls.MaxInAny60s, 100, "the budget holds over the three replicas together")
	assert.LessOrEqual(t, served, 90, "actions are capped at 90 of the 100, over all replicas")
	assert.GreaterOrEqual(t, calls.MaxInAny60s, 90, "the callers used the budget: the bound is not idle")

	_, _, message := connectorAnswer{Body: replicas[1].do("GET", "/users/"+strconv.Itoa(person.ID), bearerHeader(person.Token), "").Body}.errorBody()
	assert.Contains(t, message, "at most 100 in any 60 s,", "the window the README promises")
	blocks := 0
	for _, c := range replicas {
		if m := blocksLine.FindStringSubmatch(c.do("GET", "/metrics", "", "").Body); m != nil {
			n, _ := strconv.Atoi(m[1])
			blocks += n
		}
	}
	assert.Positive(t, blocks, "hipchat_connector_cluster_budget_blocks_total counts the reservations")
}
