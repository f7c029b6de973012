package poller_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// A subscription made by room name and one made by id get the same message with HipChat's id and
// the room's name; so does one stored before rooms were resolved, whose room the poller resolves
// with one call on its first read, stores with its cursor, and never looks up again.
func TestEverySubscriptionOfARoomDeliversItsNumericIDAndName(t *testing.T) {
	w := newWorld(t)
	id := w.room("Ops Team")
	byName := w.subscribe(w.conn, triggers.KindMessage, "Ops Team")
	byID := w.subscribe(w.conn, triggers.KindMessage, id)
	cursor, err := triggers.Baseline(w.ctx, w.client, w.conn, triggers.KindMessage, id)
	require.NoError(t, err)
	legacy := testkit.AddOrderedSubscription(t, w.store, w.conn, triggers.KindMessage, id, w.sink.URL(), cursor, state.OrderingFIFO)
	w.sink.TrustSubscriptions(legacy)
	assert.False(t, legacy.Room.Resolved())
	p := w.poller(poller.Options{})

	posted := w.post(id, 1, "deploy")
	before := w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, before+3, w.calls(w.alice.Token), "a read per feed (by name, by id) and the legacy room's lookup")
	w.deliver()

	bodies := map[string]triggers.HistoryItem{}
	for _, r := range w.sink.Requests() {
		require.NoError(t, r.VerifyErr)
		var item triggers.HistoryItem
		require.NoError(t, json.Unmarshal(r.Body, &item))
		bodies[r.Sub] = item
	}
	for name, sub := range map[string]state.Subscription{"by name": byName, "by id": byID, "stored before": legacy} {
		item, ok := bodies[sub.ID]
		require.True(t, ok, "%s: delivered", name)
		assert.Equal(t, posted[0], item.ID, name)
		assert.Equal(t, id, strconv.Itoa(item.RoomID), "%s: HipChat's id", name)
		assert.Equal(t, "Ops Team", item.RoomName, name)
	}
	assert.Equal(t, triggers.ResolvedRoom{ID: atoi(t, id), Name: "Ops Team"}, w.subscription(legacy.ID).Room, "stored")

	restarted := w.poller(poller.Options{}) // a new process reads the stored room
	before = w.calls(w.alice.Token)
	require.NoError(t, restarted.Tick(w.ctx))
	assert.Equal(t, before+2, w.calls(w.alice.Token), "one read per feed, no lookup")
}

// A legacy subscription whose feed has nothing new still gets its room stored on the first read.
func TestAQuietFeedStoresTheResolvedRoomToo(t *testing.T) {
	w := newWorld(t)
	id := w.room("Quiet")
	cursor, err := triggers.Baseline(w.ctx, w.client, w.conn, triggers.KindMessage, id)
	require.NoError(t, err)
	legacy := testkit.AddSubscription(t, w.store, w.conn, triggers.KindMessage, id, w.sink.URL(), cursor)
	require.NoError(t, w.poller(poller.Options{}).Tick(w.ctx))
	assert.Equal(t, triggers.ResolvedRoom{ID: atoi(t, id), Name: "Quiet"}, w.subscription(legacy.ID).Room)
	assert.Equal(t, cursor, w.subscription(legacy.ID).Cursor, "the cursor stays")
}

// An HTML notification's delivery carries its markup as it is, not \u003c-escaped, so that a
// receiver that parses and serializes the body again gets the bytes that were signed.
func TestAnHTMLNotificationIsDeliveredWithoutHTMLEscapes(t *testing.T) {
	w := newWorld(t)
	room := w.room("CI")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	p := w.poller(poller.Options{})
	html := `<b>build #7</b> passed &amp; <a href="https://ci.example.com/7">deployed</a>`
	require.NoError(t, w.sim.Do(w.ctx, "POST", "/v2/room/"+room+"/notification", w.alice.Token,
		map[string]any{"message": html, "from": "CI", "message_format": "html", "color": "green"}, nil))
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()

	got := w.sink.Requests()
	require.Len(t, got, 1)
	require.Equal(t, sub.ID, got[0].Sub)
	require.NoError(t, got[0].VerifyErr)
	body := string(got[0].Body)
	assert.Contains(t, body, `"message":"`+strings.ReplaceAll(html, `"`, `\"`)+`"`)
	assert.NotContains(t, body, `\u003c`)
	assert.NotContains(t, body, `\u0026`)
	assert.False(t, strings.HasSuffix(body, "\n"))
}
