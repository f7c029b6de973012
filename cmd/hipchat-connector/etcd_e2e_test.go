package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

// TestServeWithEtcdDeliversAndSurvivesARestart runs the whole program with -etcd-endpoints
// against an embedded etcd: a callback subscription made through the API is stored in etcd
// (nothing in clear), a message posted in the emulator reaches the sink signed, and after a
// restart on the same prefix and key the next message arrives and the first is not sent again.
func TestServeWithEtcdDeliversAndSurvivesARestart(t *testing.T) {
	etcd := etcdtest.Start(t)
	emu := startEmulator(t)
	ctx := context.Background()
	person, err := emu.client.NewPerson(ctx, emu.admin, "Etcd Poster", "etcdposter")
	require.NoError(t, err)
	roomID, err := emu.client.CreateRoom(ctx, person.Token, "Etcd room", "public")
	require.NoError(t, err)
	room := strconv.Itoa(roomID)
	sink := testkit.NewSink(t, nil)
	args := []string{"-etcd-endpoints", etcd.Endpoint, "-etcd-prefix", "/e2e", "-key-file",
		filepath.Join(t.TempDir(), "etcd.key"), "-poll-schedule", "@every 1s", "-allow-private-callbacks"}

	c := startConnector(t, emu.URL, args...)
	assert.Contains(t, c.Logs.String(), "-db is not used")
	assert.Contains(t, c.Logs.String(), "joined the replicas")
	metrics := c.do("GET", "/metrics", "", "").Body
	assert.Contains(t, metrics, "hipchat_connector_cluster_feeds_owned")
	assert.Contains(t, metrics, "hipchat_connector_cluster_ownership_moves_total")
	assert.Contains(t, metrics, "hipchat_connector_cluster_fenced_writes_refused_total")
	answer := c.do("POST", "/subscriptions/rooms/"+room+"/messages", bearerHeader(person.Token),
		mustJSON(map[string]string{"callbackUrl": sink.URL()}))
	require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
	var sub struct{ ID, Secret string }
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
	sink.Trust(sub.ID, sub.Secret)

	client := etcd.Client(t)
	stored, err := client.Get(ctx, "/e2e/subscriptions/"+sub.ID)
	require.NoError(t, err)
	require.Len(t, stored.Kvs, 1, "the subscription lives in etcd")
	assert.NotContains(t, string(stored.Kvs[0].Value), person.Token)
	assert.NotContains(t, string(stored.Kvs[0].Value), sub.Secret)

	first, err := emu.client.PostMessage(ctx, person.Token, room, "hello from etcd")
	require.NoError(t, err)
	waitDelivered(t, sink, sub.ID, []string{first})
	c.Stop()

	restarted := startConnector(t, emu.URL, args...) // the same prefix and key
	second, err := emu.client.PostMessage(ctx, person.Token, room, "after the restart")
	require.NoError(t, err)
	waitDelivered(t, sink, sub.ID, []string{first, second})
	settle(t, metricsOf(restarted)) // the feed read twice more: nothing else may come
	assert.Equal(t, []string{first, second}, sink.Accepted()[sub.ID], "each message once")
	for _, r := range sink.Requests() {
		assert.NoError(t, r.VerifyErr, "signed with the subscription's secret")
	}
	log, err := client.Get(ctx, "/e2e/log/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.EqualValues(t, 2, log.Count, "two deliveries in the etcd log")
}

// waitDelivered waits until the sink accepted exactly want for subscription id.
func waitDelivered(t *testing.T, sink *testkit.Sink, id string, want []string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(sink.Accepted()[id]) >= len(want) }, time.Minute, 20*time.Millisecond,
		"the sink got %v", sink.Accepted())
	assert.Equal(t, want, sink.Accepted()[id])
}
