package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// storageSubscription is the part of a subscription these tests read.
type storageSubscription struct {
	ID, Secret string
	Backlog    struct {
		Pending    int  `json:"pending"`
		Held       bool `json:"held"`
		MaxPending int  `json:"max_pending"`
	} `json:"backlog"`
}

// TestADeadReceiverIsHeldAtTheBoundAndGetsEverythingOnceWhenItReturns runs the whole program with
// -max-pending-per-subscription 20 and two subscriptions of one room: one whose receiver is down
// (503), one whose receiver works. The dead one's pending deliveries stop at the bound (its
// GetSubscription and the held metric say so) while the other gets every message as it is posted.
// When the receiver comes back (and its owner asks for the failed deliveries again, rather than
// wait for their next retry), every message reaches it once, under its webhook-id, and the backlog
// drains: the held subscription catches up from its cursor.
func TestADeadReceiverIsHeldAtTheBoundAndGetsEverythingOnceWhenItReturns(t *testing.T) {
	emu := startEmulator(t)
	ctx := context.Background()
	person, err := emu.client.NewPerson(ctx, emu.admin, "Busy Poster", "busyposter")
	require.NoError(t, err)
	roomID, err := emu.client.CreateRoom(ctx, person.Token, "Busy room", "public")
	require.NoError(t, err)
	room := strconv.Itoa(roomID)
	var down atomic.Bool
	down.Store(true)
	dead := testkit.NewSink(t, func(int, *http.Request) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	live := testkit.NewSink(t, nil)
	c := startConnector(t, emu.URL, "-poll-schedule", "@every 1s", "-push=false", "-allow-private-callbacks",
		"-max-pending-per-subscription", "20", "-circuit-failures", "1000")
	subscribe := func(sink *testkit.Sink) storageSubscription {
		answer := c.do("POST", "/subscriptions/rooms/"+room+"/messages", bearerHeader(person.Token),
			mustJSON(map[string]string{"callbackUrl": sink.URL()}))
		require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
		var sub storageSubscription
		require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
		sink.Trust(sub.ID, sub.Secret)
		return sub
	}
	held, current := subscribe(dead), subscribe(live)
	show := func() storageSubscription {
		var sub storageSubscription
		require.NoError(t, json.Unmarshal([]byte(c.do("GET", "/subscriptions/"+held.ID, bearerHeader(person.Token), "").Body), &sub))
		return sub
	}
	var posted []string
	post := func(n int) {
		for i := range n {
			id, err := emu.client.PostMessage(ctx, person.Token, room, "event "+strconv.Itoa(len(posted)+i))
			require.NoError(t, err)
			posted = append(posted, id)
		}
	}

	post(30)
	waitAccepted(t, live, current.ID, posted)
	require.Eventually(t, func() bool { return show().Backlog.Held }, 20*time.Second, 20*time.Millisecond)
	post(10)
	waitAccepted(t, live, current.ID, posted)
	atBound := show()
	assert.Equal(t, 20, atBound.Backlog.Pending, "nothing stored beyond the bound")
	assert.True(t, atBound.Backlog.Held)
	assert.Equal(t, 20, atBound.Backlog.MaxPending)
	assert.Regexp(t, regexp.MustCompile(`(?m)^hipchat_connector_subscriptions_held 1$`), c.do("GET", "/metrics", "", "").Body)

	down.Store(false)
	recovered := c.do("POST", "/subscriptions/"+held.ID+"/recover", bearerHeader(person.Token), `{"since":"2000-01-01T00:00:00Z"}`)
	require.Equal(t, http.StatusAccepted, recovered.Status, recovered.Body)
	waitAccepted(t, dead, held.ID, posted)
	require.Eventually(t, func() bool { return show().Backlog.Pending == 0 }, 20*time.Second, 20*time.Millisecond)
	assert.False(t, show().Backlog.Held)
	settle(t, metricsOf(c)) // the feed read twice more: nothing else may come
	byWebhookID := map[string]string{}
	for _, r := range dead.Requests() {
		require.NoError(t, r.VerifyErr)
		if r.Status == http.StatusNoContent {
			assert.NotContains(t, byWebhookID, r.WebhookID, "each delivery accepted once")
			byWebhookID[r.WebhookID] = r.Item
		}
	}
	assert.Len(t, byWebhookID, len(posted))
	for _, id := range posted {
		assert.Equal(t, id, byWebhookID[state.DeliveryID(held.ID, id)], "message %s under its webhook-id", id)
	}
	assert.ElementsMatch(t, posted, live.Accepted()[current.ID], "the live receiver: every message once")
}

// waitAccepted waits until sink accepted every message of want for subscription id (in any order:
// retries reorder best-effort deliveries).
func waitAccepted(t *testing.T, sink *testkit.Sink, id string, want []string) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := sink.Accepted()[id]
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	}, 90*time.Second, 20*time.Millisecond, "subscription %s: %d of %d accepted", id, len(sink.Accepted()[id]), len(want))
}

// TestCompactGivesAStoppedConnectorsFileBackAndKeepsItsKey: `compact` refuses while serve holds the
// file; once serve stopped, it shrinks the file, leaves the key file as it was, and serve opens the
// compacted file with it: the subscription and its delivery log are there.
func TestCompactGivesAStoppedConnectorsFileBackAndKeepsItsKey(t *testing.T) {
	emu := startEmulator(t)
	ctx := context.Background()
	person, err := emu.client.NewPerson(ctx, emu.admin, "Compact Poster", "compactposter")
	require.NoError(t, err)
	roomID, err := emu.client.CreateRoom(ctx, person.Token, "Compact room", "public")
	require.NoError(t, err)
	sink := testkit.NewSink(t, nil)
	db := filepath.Join(t.TempDir(), "connector.db")
	args := []string{"-db", db, "-poll-schedule", "@every 1s", "-push=false", "-allow-private-callbacks"}
	c := startConnector(t, emu.URL, args...)
	answer := c.do("POST", "/subscriptions/rooms/"+strconv.Itoa(roomID)+"/messages", bearerHeader(person.Token),
		mustJSON(map[string]string{"callbackUrl": sink.URL()}))
	require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
	var sub storageSubscription
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
	sink.Trust(sub.ID, sub.Secret)
	id, err := emu.client.PostMessage(ctx, person.Token, strconv.Itoa(roomID), "kept through compaction")
	require.NoError(t, err)
	waitAccepted(t, sink, sub.ID, []string{id})
	metrics := c.do("GET", "/metrics", "", "").Body
	assert.Regexp(t, regexp.MustCompile(`(?m)^hipchat_connector_store_free_bytes \d`), metrics)
	assert.Regexp(t, regexp.MustCompile(`(?m)^hipchat_connector_store_file_bytes \d`), metrics)

	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"compact", "-db", db}, func(string) string { return "" }, &stdout, &stderr)
	require.ErrorContains(t, err, "another process holds the database", "offline only")
	c.Stop()
	key, err := os.ReadFile(db + ".key")
	require.NoError(t, err)
	before, err := os.Stat(db)
	require.NoError(t, err)

	require.NoError(t, run(ctx, []string{"compact", "-db", db}, func(string) string { return "" }, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "compacted "+db+": ")
	after, err := os.Stat(db)
	require.NoError(t, err)
	assert.Less(t, after.Size(), before.Size())
	keyAfter, err := os.ReadFile(db + ".key")
	require.NoError(t, err)
	assert.Equal(t, key, keyAfter, "the key file is untouched")

	c = startConnector(t, emu.URL, args...)
	deliveries := c.do("GET", "/subscriptions/"+sub.ID+"/deliveries", bearerHeader(person.Token), "")
	require.Equal(t, http.StatusOK, deliveries.Status, deliveries.Body)
	assert.Contains(t, deliveries.Body, id)
}
