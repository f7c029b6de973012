package poller_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

const doorbellBase = "http://127.0.0.1:9/"

// pushedFeed is a message feed of w with its doorbells registered by a poller on reg: the poller,
// the room, and the feed's doorbell id and secret as HipChat lists them.
func pushedFeed(t *testing.T, w *world, reg prometheus.Registerer) (p *poller.Poller, room, id, secret string) {
	p, bells := pushedRooms(t, w, reg, "Pushed")
	return p, bells[0].room, bells[0].id, bells[0].secret
}

// roomDoorbell is a room of a feed with the feed's doorbell id and secret.
type roomDoorbell struct{ room, id, secret string }

// pushedRooms makes a room of each name with one message subscription of w.conn, and a poller on
// reg with push on that registered their doorbells (one tick): the poller and each room's doorbell,
// in the order of names.
func pushedRooms(t *testing.T, w *world, reg prometheus.Registerer, names ...string) (*poller.Poller, []roomDoorbell) {
	t.Helper()
	bells := make([]roomDoorbell, len(names))
	for i, name := range names {
		bells[i].room = w.room(name)
		w.subscribe(w.conn, triggers.KindMessage, bells[i].room)
	}
	p := w.poller(poller.Options{Registerer: reg})
	p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: w.client})
	require.NoError(t, p.Tick(w.ctx)) // registers the feeds' doorbells
	for i := range bells {
		bells[i].id, bells[i].secret = doorbellOf(t, w, bells[i].room)
	}
	return p, bells
}

// doorbellOf reads the feed's doorbell id and secret from the room's webhooks, which must all be at
// one URL.
func doorbellOf(t *testing.T, w *world, room string) (id, secret string) {
	hooks, err := w.sim.ListWebhooks(w.ctx, w.alice.Token, room)
	require.NoError(t, err)
	require.Len(t, hooks, 3, "room_message, room_notification, room_file_upload")
	for _, h := range hooks[1:] {
		require.Equal(t, hooks[0].URL, h.URL, "one URL for the feed's three webhooks")
	}
	parts := strings.Split(strings.TrimPrefix(hooks[0].URL, doorbellBase+"hipchat/rooms/"), "/")
	require.Len(t, parts, 2, hooks[0].URL)
	return parts[0], parts[1]
}

// A doorbell rung 100 times in 10 s with nothing new to read (a replayed or forged URL) reads the
// feed about five times: once at once, and once its read found nothing, one read every 2 s. The
// pacing is by the wall clock, so the bound is taken from how long the ringing really took (longer
// on a loaded machine): the first read, one per 2 s of it, and the last coalesced one.
func TestRingsAreCoalescedIntoOneReadEveryTwoSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("rings for 10 s")
	}
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, _, id, secret := pushedFeed(t, w, reg)
	started := time.Now()
	for range 100 {
		require.True(t, p.Ring(id, secret, nil))
		time.Sleep(100 * time.Millisecond)
	}
	rang := time.Since(started)
	time.Sleep(2100 * time.Millisecond) // the last coalesced read
	p.Wait()
	reads := metricSum(t, reg, "hipchat_connector_push_reads_total")
	most := 2 + math.Ceil(rang.Seconds()/2)
	t.Logf("100 rings in %s: %v reads (at most %v)", rang.Round(time.Millisecond), reads, most)
	assert.Positive(t, doorbells(t, reg, "paced"), "held to the 2 s pace once a read found nothing")
	assert.GreaterOrEqual(t, reads, 2.0)
	assert.LessOrEqual(t, reads, most, "one read per 2 s, and the first at once")
}

// Doorbells that ring while Run stops (forwarded by another replica, or a subscription changed
// through etcd's watch) start nothing once Run waits for what runs: after Run returns, a doorbell
// costs no HipChat call. (Before, a read could start after Run's wait, which -race reported.)
func TestDoorbellsRungWhileRunStopsStartNothingAfterIt(t *testing.T) {
	w := newWorld(t)
	p, _, id, secret := pushedFeed(t, w, prometheus.NewRegistry())
	p.Wait()
	ctx, cancel := context.WithCancel(w.ctx)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	var ringing sync.WaitGroup
	stop, rung := make(chan struct{}), make(chan struct{})
	ringing.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			p.Ring(id, secret, nil)
			p.Changed("a-subscription-that-changed")
			if n == 20 {
				close(rung)
			}
		}
	})
	<-rung // Run stops while doorbells ring
	cancel()
	require.NoError(t, <-ran)
	close(stop)
	ringing.Wait()
	p.Wait() // what started before Run's wait is done too
	before := w.calls(w.alice.Token)
	for range 10 {
		p.Ring(id, secret, nil)
		p.Changed("a-subscription-that-changed")
	}
	p.Wait()
	assert.Equal(t, before, w.calls(w.alice.Token), "no read and no registration once Run returned")
}

// A doorbell that announces a message every subscription of the feed has passed costs nothing; one
// that announces a newer message reads the feed.
func TestARingForAMessageAlreadyPassedCostsNothing(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, room, id, secret := pushedFeed(t, w, reg)
	old := w.post(room, 1, "read already")[0]
	require.NoError(t, p.Tick(w.ctx)) // the subscription passes it
	var msg struct{ Date string }
	var got struct{ Message *struct{ Date string } }
	require.NoError(t, w.sim.Do(w.ctx, "GET", "/v2/room/"+room+"/history/"+old, w.alice.Token, nil, &got))
	require.NotNil(t, got.Message)
	msg.Date = got.Message.Date
	before := w.calls(w.alice.Token)

	payload := fmt.Sprintf(`{"event":"room_message","item":{"message":{"id":%q,"date":%q}}}`, old, msg.Date)
	for range 20 {
		require.True(t, p.Ring(id, secret, []byte(payload)), "accepted, 204")
	}
	p.Wait()
	assert.Equal(t, before, w.calls(w.alice.Token), "no HipChat call for a message already passed")

	later, err := time.Parse(time.RFC3339Nano, msg.Date)
	require.NoError(t, err)
	newer := fmt.Sprintf(`{"event":"room_message","item":{"message":{"id":"new","date":%q}}}`, later.Add(time.Second).Format(time.RFC3339Nano))
	require.True(t, p.Ring(id, secret, []byte(newer)))
	p.Wait()
	assert.Greater(t, w.calls(w.alice.Token), before, "a newer message is read")
}

// A restarted poller takes up the doorbells HipChat lists (same URL, no new webhook); when they must
// be registered again (one is gone), the feed gets a new secret and the old URL rings nothing.
func TestARegistrationAgainReplacesTheDoorbellSecret(t *testing.T) {
	w := newWorld(t)
	_, room, id, secret := pushedFeed(t, w, nil)

	restarted := w.poller(poller.Options{})
	restarted.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: w.client})
	require.NoError(t, restarted.Tick(w.ctx))
	_, same := doorbellOf(t, w, room)
	assert.Equal(t, secret, same, "a restart takes up the registered doorbells")
	assert.True(t, restarted.Ring(id, secret, nil))

	hooks, err := w.sim.ListWebhooks(w.ctx, w.alice.Token, room)
	require.NoError(t, err)
	require.NoError(t, w.sim.DeleteWebhook(w.ctx, w.alice.Token, room, hooks[0].ID))
	again := w.poller(poller.Options{})
	again.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: w.client})
	require.NoError(t, again.Tick(w.ctx))
	_, rotated := doorbellOf(t, w, room)
	assert.NotEqual(t, secret, rotated, "registered again: a new secret")
	assert.False(t, again.Ring(id, secret, nil), "the old URL answers 404")
	assert.True(t, again.Ring(id, rotated, nil))
}

// metricSum adds up every series of the counter or gauge name in reg.
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// HipChat's own doorbells, each announcing a message the feed has not read, are read at once, one
// after the other: no pacing while the reads find what the doorbells announce.
func TestHonestDoorbellsAreReadAtOnce(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, room, id, secret := pushedFeed(t, w, reg)
	for i := range 5 {
		posted := w.post(room, 1, fmt.Sprintf("new %d", i))[0]
		var got struct{ Message *struct{ Date string } }
		require.NoError(t, w.sim.Do(w.ctx, "GET", "/v2/room/"+room+"/history/"+posted, w.alice.Token, nil, &got))
		payload := fmt.Sprintf(`{"event":"room_message","item":{"message":{"id":%q,"date":%q}}}`, posted, got.Message.Date)
		require.True(t, p.Ring(id, secret, []byte(payload)))
		p.Wait()
	}
	assert.Equal(t, 5.0, metricSum(t, reg, "hipchat_connector_push_reads_total"), "one read per doorbell")
	assert.Zero(t, doorbells(t, reg, "paced"), "none was held for the 2 s pace")
}

// doorbells is hipchat_connector_push_doorbells_total{result}.
func doorbells(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "hipchat_connector_push_doorbells_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// A burst of 300 messages rings the feed 300 times within a few milliseconds: the rings are
// gathered, and the feed is read once, when they have stopped, and that one read takes all 300. A
// ring after a quiet spell then reads again.
func TestABurstOfRingsIsReadOnceItIsOver(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, room, id, secret := pushedFeed(t, w, reg)
	w.post(room, 300, "burst")
	before := w.calls(w.alice.Token)
	for range 300 {
		require.True(t, p.Ring(id, secret, nil))
	}
	p.Wait()
	assert.Equal(t, 1.0, metricSum(t, reg, "hipchat_connector_push_reads_total"), "one read for the whole burst")
	assert.Equal(t, 1, w.calls(w.alice.Token)-before, "one HipChat call: history/latest holds 1,000")
	w.deliver()
	assert.Equal(t, 300, delivered(w), "the one read queued every message")

	time.Sleep(2 * poller.RingQuiet) // a quiet spell
	w.post(room, 1, "after")
	require.True(t, p.Ring(id, secret, nil))
	p.Wait()
	assert.Equal(t, 2.0, metricSum(t, reg, "hipchat_connector_push_reads_total"), "a ring after a quiet spell reads")
	w.deliver()
	assert.Equal(t, 301, delivered(w))
}

// delivered counts the deliveries w's sink accepted.
func delivered(w *world) int {
	n := 0
	for _, got := range w.sink.Accepted() {
		n += len(got)
	}
	return n
}

// Rings 20 ms apart (a room busier than one read per message is worth) make the feed busy: 20
// messages are read in a few reads, not 20, and every one is queued.
func TestAStreamOfRingsIsReadWhenItPauses(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, room, id, secret := pushedFeed(t, w, reg)
	for i := range 20 {
		w.post(room, 1, fmt.Sprintf("stream %d", i))
		require.True(t, p.Ring(id, secret, nil))
		time.Sleep(20 * time.Millisecond)
	}
	p.Wait()
	reads := metricSum(t, reg, "hipchat_connector_push_reads_total")
	t.Logf("20 rings 20 ms apart: %v reads", reads)
	assert.LessOrEqual(t, reads, 4.0, "the first ring's read, then one once the rings pause (a slow machine may see a pause or two)")
	w.deliver()
	assert.Equal(t, 20, delivered(w))
}

// A burst over two rooms of one token (a bot posting in both): the first room's first ring sees
// the second room's rings during its gather, so the first room is not read before its burst is
// over (its next rings come 50 ms later), and each room is read once.
func TestABurstOverATokensRoomsReadsEachRoomOnce(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, bells := pushedRooms(t, w, reg, "First", "Second")
	first, firstID, firstSecret := bells[0].room, bells[0].id, bells[0].secret
	second, secondID, secondSecret := bells[1].room, bells[1].id, bells[1].secret
	w.post(first, 5, "first")
	w.post(second, 5, "second")
	require.True(t, p.Ring(firstID, firstSecret, nil))
	for range 5 {
		require.True(t, p.Ring(secondID, secondSecret, nil))
	}
	time.Sleep(50 * time.Millisecond) // past the first room's gather: a read then would be early
	for range 4 {
		require.True(t, p.Ring(firstID, firstSecret, nil))
	}
	p.Wait()
	assert.Equal(t, 2.0, metricSum(t, reg, "hipchat_connector_push_reads_total"), "one read a room, once the burst is over")
	w.deliver()
	assert.Equal(t, 10, delivered(w))
}

// While a token's doorbells ring (a burst over its rooms), a tick spends no reconcile read on the
// token's trusted feeds: the burst's doorbell reads are reading them, and a reconcile read then would
// read a feed twice. Once the rings have stopped, the feed due its reconcile read is read as before.
func TestATickReconcilesNothingWhileTheTokensDoorbellsRing(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	p, bells := pushedRooms(t, w, reg, "Quiet", "Busy")
	busy, busyID, busySecret := bells[1].room, bells[1].id, bells[1].secret
	for _, room := range bells {
		w.post(room.room, 1, "proof")
		require.True(t, p.Ring(room.id, room.secret, nil))
		p.Wait()
		got, _, ok := p.PushStatus(w.conn.ID, room.room)
		require.True(t, ok)
		require.Equal(t, poller.PushTrusted, got, "a doorbell read that found its message makes the feed trusted")
	}
	time.Sleep(600 * time.Millisecond)                     // the proofs' rings are over (busyQuiet, wall-clock)
	w.clock.Advance(poller.DefaultReconcile + time.Minute) // both feeds due their reconcile read

	w.post(busy, 3, "burst")
	require.True(t, p.Ring(busyID, busySecret, nil))
	tickReads := metricSum(t, reg, "hipchat_connector_poll_feeds_read_total")
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, tickReads, metricSum(t, reg, "hipchat_connector_poll_feeds_read_total"),
		"no reconcile read while the token's doorbells ring: Quiet waits, Busy is its doorbell's")
	p.Wait()

	time.Sleep(600 * time.Millisecond) // the burst's rings are over
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, tickReads+1, metricSum(t, reg, "hipchat_connector_poll_feeds_read_total"),
		"then Quiet is reconciled (Busy was just read by its doorbell)")
	w.deliver()
	assert.Equal(t, 5, delivered(w))
}

// When the last subscription of a room goes, the feed's room webhooks are deleted and its doorbell
// URL answers 404 — also when it was the connection's last subscription, so that no turn of the
// connection follows to forget the feed.
func TestDeletingTheLastSubscriptionDeletesTheRoomsWebhooks(t *testing.T) {
	w := newWorld(t)
	sub := w.subscribe(w.conn, triggers.KindMessage, w.room("Only"))
	p := w.poller(poller.Options{})
	p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: w.client})
	require.NoError(t, p.Tick(w.ctx)) // registers the feed's doorbells
	id, secret := doorbellOf(t, w, sub.RoomID)

	require.NoError(t, w.store.DeleteSubscription(sub.ID))
	p.Changed(sub.ID)
	require.NoError(t, p.Tick(w.ctx))
	p.Wait()

	hooks, err := w.sim.ListWebhooks(w.ctx, w.alice.Token, sub.RoomID)
	require.NoError(t, err)
	assert.Empty(t, hooks, "the room's webhooks are deleted with its last subscription")
	assert.False(t, p.Ring(id, secret, nil), "the old doorbell URL answers 404")
	_, _, ok := p.PushStatus(w.conn.ID, sub.RoomID)
	assert.False(t, ok, "the feed is no push feed any more")
}

// refusingWebhooks is HipChat's room webhook API through client, except that ListRoomWebhooks
// answers 403 (the token lost admin_room) once refuse is set; lists counts the list calls refused.
type refusingWebhooks struct {
	*connector.Client
	refuse atomic.Bool
	lists  atomic.Int64
}

func (r *refusingWebhooks) ListRoomWebhooks(ctx context.Context, conn connector.Connection, room string) ([]connector.RoomWebhook, error) {
	if r.refuse.Load() {
		r.lists.Add(1)
		return nil, &connector.Error{Kind: connector.KindScopeMissing, Status: 403, Message: "You must have the admin_room scope"}
	}
	return r.Client.ListRoomWebhooks(ctx, conn, room)
}

// A trusted feed whose token lost admin_room cannot have its webhooks checked any more: the check
// is not made again at every tick (one listing call each, on the token's budget, for good), and
// the feed is polled again, as it can no longer tell whether its doorbells are there.
func TestATrustedFeedWhoseTokenLostItsScopeStopsCheckingItsWebhooks(t *testing.T) {
	w := newWorld(t)
	room := w.room("Trusted")
	w.subscribe(w.conn, triggers.KindMessage, room)
	api := &refusingWebhooks{Client: w.client}
	p := w.poller(poller.Options{})
	p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: api})
	require.NoError(t, p.Tick(w.ctx)) // registers the feed's doorbells
	id, secret := doorbellOf(t, w, room)
	w.post(room, 1, "proof")
	require.True(t, p.Ring(id, secret, nil))
	p.Wait()
	got, _, _ := p.PushStatus(w.conn.ID, room)
	require.Equal(t, poller.PushTrusted, got)

	api.refuse.Store(true) // the token loses admin_room
	for range 40 {         // 40 minutes of ticks: the webhooks' check is due after 30
		w.clock.Advance(time.Minute)
		require.NoError(t, p.Tick(w.ctx))
	}
	p.Wait()
	assert.LessOrEqual(t, api.lists.Load(), int64(1), "a refused check is not made again every tick")
	got, _, _ = p.PushStatus(w.conn.ID, room)
	assert.NotEqual(t, poller.PushTrusted, got, "a feed whose doorbells cannot be checked is polled again")
}

// roomGoneWebhooks answers every ListRoomWebhooks with HipChat's 404 for a room it does not know.
type roomGoneWebhooks struct{ *connector.Client }

func (roomGoneWebhooks) ListRoomWebhooks(context.Context, connector.Connection, string) ([]connector.RoomWebhook, error) {
	return nil, &connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "Room not found"}
}

// A feed HipChat refuses to register before it ever had a secret says why in HipChat's words: the
// reason is not garbled by the redaction of a secret it does not have.
func TestARefusedFirstRegistrationSaysWhyPlainly(t *testing.T) {
	w := newWorld(t)
	room := w.room("Refused")
	w.subscribe(w.conn, triggers.KindMessage, room)
	p := w.poller(poller.Options{})
	p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: roomGoneWebhooks{w.client}})
	require.NoError(t, p.Tick(w.ctx))
	state, reason, ok := p.PushStatus(w.conn.ID, room)
	require.True(t, ok)
	assert.Equal(t, poller.PushOff, state)
	assert.Equal(t, "HipChat refused the room webhook (Room not found); the feed is polled", reason)
}
