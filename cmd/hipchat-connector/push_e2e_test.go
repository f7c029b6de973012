package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// pushSink takes deliveries and remembers when each message id first arrived.
type pushSink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	arrived map[string]time.Time
}

func newPushSink(t *testing.T) *pushSink {
	s := &pushSink{arrived: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var item struct{ ID string }
		_ = json.NewDecoder(r.Body).Decode(&item)
		s.mu.Lock()
		if _, ok := s.arrived[item.ID]; !ok {
			s.arrived[item.ID] = time.Now()
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *pushSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrived)
}

// pushWorld is the emulator (limits off, webhooks firing), the whole program with push on and a
// poll schedule of a minute, a sink subscribed to one room's messages.
type pushWorld struct {
	sim     *simclient.Client
	emu     *hipchatsim.Server
	person  simclient.Person
	room    string
	conn    *connectorUnderTest
	sink    *pushSink
	subPath string
	auth    string
}

func newPushWorld(t *testing.T, args ...string) *pushWorld {
	t.Helper()
	emu, err := hipchatsim.New(hipchatsim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	hipchat := httptest.NewServer(emu)
	t.Cleanup(hipchat.Close)
	w := &pushWorld{sim: simclient.New(hipchat.URL), emu: emu, sink: newPushSink(t)}
	ctx := context.Background()
	w.person, err = w.sim.NewPerson(ctx, emu.AdminToken(), "Ann Lee", "ann")
	require.NoError(t, err)
	id, err := w.sim.CreateRoom(ctx, w.person.Token, "Pushed", "public")
	require.NoError(t, err)
	w.room = strconv.Itoa(id)
	w.conn = startConnector(t, hipchat.URL, append([]string{"-poll-schedule", "@every 1m", "-allow-private-callbacks"}, args...)...)
	w.auth = "Bearer " + w.person.Token
	answer := w.conn.do("POST", "/subscriptions/rooms/"+w.room+"/messages", w.auth, `{"callbackUrl":"`+w.sink.srv.URL+`/hook"}`)
	require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
	w.subPath = strings.TrimPrefix(answer.Header.Get("Location"), w.conn.URL)
	require.Eventually(t, func() bool { return w.pushState(t) == "on" }, 10*time.Second, 10*time.Millisecond,
		"the room's doorbells are registered at once, not at the next tick")
	return w
}

// pushState is the subscription's push state as GetSubscription shows it.
func (w *pushWorld) pushState(t *testing.T) string {
	var sub struct {
		Push *struct{ State, Reason string } `json:"push"`
	}
	answer := w.conn.do("GET", w.subPath, w.auth, "")
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
	if sub.Push == nil {
		return ""
	}
	return sub.Push.State
}

// TestPushDeliversWithinASecond: with a poll schedule of an hour (no tick during the test), 60
// messages posted at random moments reach the sink on the room webhook's doorbells, not on a poll
// (no poll read a feed); it prints the latencies (post → delivery) and the feed is on trusted push
// by the end. 60 reads fit the connection's 75 background calls in 61 s even on a machine fast
// enough to read each message on its own doorbell (with 100, such a machine spent the budget and
// the last reads waited a minute for the window, which made the test fail there only).
func TestPushDeliversWithinASecond(t *testing.T) {
	w := newPushWorld(t, "-poll-schedule", "@every 1h")
	ctx := context.Background()
	posted := map[string]time.Time{}
	for i := 0; i < 60; i++ {
		time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
		id, err := w.sim.PostMessage(ctx, w.person.Token, w.room, fmt.Sprintf("pushed %d", i))
		require.NoError(t, err)
		posted[id] = time.Now()
	}
	require.Eventually(t, func() bool { return w.sink.count() == len(posted) }, 2*time.Minute, 10*time.Millisecond,
		"every message arrived on a doorbell")
	assert.Zero(t, metricValue(t, w.conn, "hipchat_connector_poll_feeds_read_total"), "no poll read the feed: the doorbells did")
	var latencies []time.Duration
	w.sink.mu.Lock()
	for id, at := range posted {
		latencies = append(latencies, w.sink.arrived[id].Sub(at))
	}
	w.sink.mu.Unlock()
	slices.Sort(latencies)
	t.Logf("push: %d messages, latency post → delivery p50 %s, p99 %s, max %s (poll schedule @every 1h)",
		len(latencies), latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)*99/100].Round(time.Millisecond),
		latencies[len(latencies)-1].Round(time.Millisecond))
	assert.Equal(t, "trusted", w.pushState(t), "a doorbell was followed by a read that found what it announced")
	metrics := w.conn.do("GET", "/metrics", "", "").Body
	assert.Contains(t, metrics, `hipchat_connector_push_doorbells_total{result="accepted"}`)
	assert.Contains(t, metrics, `hipchat_connector_push_feeds{state="trusted"} 1`)
}

// TestAForgedDoorbellGets404AndCostsNoHipChatCall: a wrong secret, an unknown feed or a bare path
// answer 404 and make no HipChat call.
func TestAForgedDoorbellGets404AndCostsNoHipChatCall(t *testing.T) {
	w := newPushWorld(t)
	ctx := context.Background()
	hooks, err := w.sim.ListWebhooks(ctx, w.emu.AdminToken(), w.room)
	require.NoError(t, err)
	require.NotEmpty(t, hooks)
	real := strings.TrimPrefix(hooks[0].URL, w.conn.URL)
	parts := strings.Split(strings.Trim(real, "/"), "/") // hipchat rooms {feed} {secret}
	require.Len(t, parts, 4)
	before, err := w.sim.CallsOf(ctx, w.person.Token)
	require.NoError(t, err)
	for name, path := range map[string]string{
		"wrong secret":  "/hipchat/rooms/" + parts[2] + "/" + strings.Repeat("0", len(parts[3])),
		"unknown feed":  "/hipchat/rooms/" + strings.Repeat("a", len(parts[2])) + "/" + parts[3],
		"no secret":     "/hipchat/rooms/" + parts[2],
		"secret prefix": "/hipchat/rooms/" + parts[2] + "/" + parts[3][:8],
	} {
		answer := w.conn.do("POST", path, "", `{"event":"room_message"}`)
		assert.Equal(t, http.StatusNotFound, answer.Status, name)
	}
	time.Sleep(100 * time.Millisecond) // a read would have started by now
	after, err := w.sim.CallsOf(ctx, w.person.Token)
	require.NoError(t, err)
	assert.Equal(t, before.Total, after.Total, "no HipChat call for a forged doorbell")
	assert.Equal(t, http.StatusNoContent, w.conn.do("POST", real, "", `{}`).Status, "the real one rings")
}

// TestPushLosesNothingWhenHipChatDropsWebhooks: with 30 % of webhook calls dropped and a reconcile
// every 2 s, every message still arrives: later doorbells and the reconcile reads find what the
// dropped ones did not announce.
func TestPushLosesNothingWhenHipChatDropsWebhooks(t *testing.T) {
	w := newPushWorld(t, "-reconcile-schedule", "@every 2s")
	ctx := context.Background()
	require.NoError(t, w.sim.InjectWebhookFault(ctx, simclient.WebhookFault{DropRate: 0.3}))
	posted := 0
	for i := 0; i < 60; i++ {
		_, err := w.sim.PostMessage(ctx, w.person.Token, w.room, fmt.Sprintf("maybe dropped %d", i))
		require.NoError(t, err)
		posted++
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
	}
	calls, err := w.sim.WebhookCalls(ctx)
	require.NoError(t, err)
	dropped := 0
	for _, c := range calls {
		if c.Dropped {
			dropped++
		}
	}
	require.Eventually(t, func() bool { return w.sink.count() == posted }, 90*time.Second, 50*time.Millisecond,
		"nothing is lost: %d of %d arrived", w.sink.count(), posted)
	t.Logf("push with 30%% of webhook calls dropped: %d sent, %d doorbells dropped, %d delivered, 0 lost", posted, dropped, w.sink.count())
	assert.Positive(t, dropped)
}
