package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

var feedsOwnedLine = regexp.MustCompile(`(?m)^hipchat_connector_cluster_feeds_owned (\d+)`)

// awaitFeedsOwned waits until the replicas own want feeds in all, each once, held by a number of
// replicas that holders accepts, and returns how many each owns.
func awaitFeedsOwned(t *testing.T, replicas []*connectorUnderTest, want int, holders func(int) bool) []int {
	t.Helper()
	var owned []int
	require.Eventually(t, func() bool {
		owned = owned[:0]
		total, holding := 0, 0
		for _, c := range replicas {
			n := feedsOwned(t, c)
			owned = append(owned, n)
			total += n
			if n > 0 {
				holding++
			}
		}
		return total == want && holders(holding)
	}, time.Minute, 100*time.Millisecond, "feeds owned: %v", owned)
	return owned
}

// feedsOwned reads a replica's hipchat_connector_cluster_feeds_owned.
func feedsOwned(t *testing.T, c *connectorUnderTest) int {
	m := feedsOwnedLine.FindStringSubmatch(c.do("GET", "/metrics", "", "").Body)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// TestReplicasFailOver runs three replicas of the whole program on one embedded etcd, one
// emulator and one sink: the feeds of six rooms (of six tokens) are spread over them, each owned by one; messages
// posted in every room are delivered; one replica stops, its feeds move to the other two, and the
// messages posted after that are delivered as well. Every message arrives; a message that arrives
// twice does so under one webhook-id.
func TestReplicasFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("three replicas and a failover: seconds")
	}
	etcd := etcdtest.Start(t)
	emu := startEmulator(t)
	ctx := context.Background()
	sink := testkit.NewSink(t, nil)
	args := []string{"-etcd-endpoints", etcd.Endpoint, "-etcd-prefix", "/ha", "-etcd-lease-ttl", "1s",
		"-key-file", filepath.Join(t.TempDir(), "ha.key"), "-poll-schedule", "@every 1s",
		"-allow-private-callbacks", "-push=false"}

	replicas := []*connectorUnderTest{startConnector(t, emu.URL, args...)}
	const rooms = 6
	roomIDs := make([]string, rooms)
	subs := map[string]string{}    // room → subscription
	posters := map[string]string{} // room → its poster's token, the subscription's connection
	for i := range roomIDs {
		// One token per room: a connection's feeds are owned together, so six connections spread.
		person, err := emu.client.NewPerson(ctx, emu.admin, fmt.Sprintf("HA Poster %d", i), fmt.Sprintf("haposter%d", i))
		require.NoError(t, err)
		id, err := emu.client.CreateRoom(ctx, person.Token, fmt.Sprintf("HA room %d", i), "public")
		require.NoError(t, err)
		roomIDs[i] = strconv.Itoa(id)
		answer := replicas[0].do("POST", "/subscriptions/rooms/"+roomIDs[i]+"/messages", bearerHeader(person.Token),
			mustJSON(map[string]string{"callbackUrl": sink.URL()}))
		require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
		var sub struct{ ID, Secret string }
		require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
		sink.Trust(sub.ID, sub.Secret)
		subs[roomIDs[i]] = sub.ID
		posters[roomIDs[i]] = person.Token
	}
	replicas = append(replicas, startConnector(t, emu.URL, args...), startConnector(t, emu.URL, args...))

	// Wait until the feeds are spread: six in all, each owned once, on more than one replica.
	owned := awaitFeedsOwned(t, replicas, rooms, func(holders int) bool { return holders > 1 })
	t.Logf("feeds owned by the three replicas: %v", owned)

	want := map[string][]string{} // subscription → messages
	post := func(round string) {
		for _, room := range roomIDs {
			id, err := emu.client.PostMessage(ctx, posters[room], room, round+" in "+room)
			require.NoError(t, err)
			want[subs[room]] = append(want[subs[room]], id)
		}
	}
	allDelivered := func() bool {
		got := sink.Accepted()
		for sub, ids := range want {
			seen := map[string]bool{}
			for _, id := range got[sub] {
				seen[id] = true
			}
			for _, id := range ids {
				if !seen[id] {
					return false
				}
			}
		}
		return true
	}
	post("before")
	require.Eventually(t, allDelivered, time.Minute, 20*time.Millisecond, "got %v, want %v", sink.Accepted(), want)

	// Stop the replica that owns the most feeds.
	victim := 0
	for i, n := range owned {
		if n > owned[victim] {
			victim = i
		}
	}
	stopped := time.Now()
	replicas[victim].Stop()
	shutdown := time.Since(stopped)
	post("after")
	require.Eventually(t, allDelivered, time.Minute, 20*time.Millisecond, "got %v, want %v", sink.Accepted(), want)
	t.Logf("failover: replica %d (owning %d of %d feeds) stopped (its shutdown took %s); every message posted after it delivered %s after the stop began",
		victim, owned[victim], rooms, shutdown.Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))

	var survivors []metricsPage
	for i, r := range replicas {
		if i != victim {
			survivors = append(survivors, metricsOf(r))
		}
	}
	settle(t, survivors...)                    // every feed read twice more: nothing new may come
	webhookIDs := map[string]map[string]bool{} // subscription/message → webhook-ids
	repeats := 0
	for _, r := range sink.Requests() {
		assert.NoError(t, r.VerifyErr, "signed with the subscription's secret")
		key := r.Sub + "/" + r.Item
		if webhookIDs[key] == nil {
			webhookIDs[key] = map[string]bool{}
		} else {
			repeats++
		}
		webhookIDs[key][r.WebhookID] = true
	}
	for key, ids := range webhookIDs {
		assert.Len(t, ids, 1, "message %s arrived under one webhook-id", key)
	}
	assert.Len(t, webhookIDs, 2*rooms, "each message of each room, nothing else")
	t.Logf("%d requests, %d of them repeats (each under its first webhook-id)", len(sink.Requests()), repeats)
}
