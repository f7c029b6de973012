package poller_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// emulatedWebhooks is HipChat's room webhook API through the emulator, counting the listing calls;
// with failNth set, the emulator answers the failNth webhook creation with failStatus (a fault
// injected for the token just before that call and cleared just after it). created keeps the URLs
// of the creations made.
type emulatedWebhooks struct {
	*connector.Client
	w          *world
	failNth    int64
	failStatus int
	lists      atomic.Int64
	creations  atomic.Int64

	mu      sync.Mutex
	created []string
}

func (e *emulatedWebhooks) ListRoomWebhooks(ctx context.Context, conn connector.Connection, room string) ([]connector.RoomWebhook, error) {
	e.lists.Add(1)
	return e.Client.ListRoomWebhooks(ctx, conn, room)
}

func (e *emulatedWebhooks) CreateRoomWebhook(ctx context.Context, conn connector.Connection, room string, hook connector.RoomWebhook) (int, error) {
	e.mu.Lock()
	e.created = append(e.created, hook.URL)
	e.mu.Unlock()
	if e.creations.Add(1) == e.failNth {
		fault := simclient.Fault{TokenSHA256: simclient.TokenSHA256(e.w.alice.Token), Status: e.failStatus, Rate: 1}
		assert.NoError(e.w.t, e.w.sim.InjectFault(ctx, fault))
		defer func() { assert.NoError(e.w.t, e.w.sim.ClearFaults(ctx)) }()
	}
	return e.Client.CreateRoomWebhook(ctx, conn, room, hook)
}

// lastCreated is the doorbell id and secret of the URL of the last creation made.
func (e *emulatedWebhooks) lastCreated(t *testing.T) (id, secret string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.NotEmpty(t, e.created)
	parts := strings.Split(strings.TrimPrefix(e.created[len(e.created)-1], doorbellBase+"hipchat/rooms/"), "/")
	require.Len(t, parts, 2)
	return parts[0], parts[1]
}

// roomWebhooks lists room's webhooks in the emulator.
func (w *world) roomWebhooks(room string) []simclient.Webhook {
	w.t.Helper()
	hooks, err := w.sim.ListWebhooks(w.ctx, w.alice.Token, room)
	require.NoError(w.t, err)
	return hooks
}

// A registered feed whose doorbells have not proved themselves (on, not trusted) is checked as a
// trusted one is: one listing every 30 minutes while its webhooks are there, and when HipChat
// deleted them, the check registers them again at once (a new secret: the old URL answers 404).
func TestARegisteredFeedWhoseWebhooksWereDeletedIsRegisteredAgain(t *testing.T) {
	w := newWorld(t)
	room := w.room("Registered")
	w.subscribe(w.conn, triggers.KindMessage, room)
	api := &emulatedWebhooks{Client: w.client, w: w}
	p := w.poller(poller.Options{})
	p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: api})
	require.NoError(t, p.Tick(w.ctx)) // registers the feed's doorbells
	id, secret := doorbellOf(t, w, room)
	state, _, _ := p.PushStatus(w.conn.ID, room)
	require.Equal(t, poller.PushOn, state)
	registration := api.lists.Load()

	halfHour := func() {
		t.Helper()
		for range 30 {
			w.clock.Advance(time.Minute)
			require.NoError(t, p.Tick(w.ctx))
		}
		p.Wait()
	}
	halfHour()
	assert.Equal(t, registration+1, api.lists.Load(), "one check in 30 minutes of ticks, none at the others")
	_, same := doorbellOf(t, w, room)
	assert.Equal(t, secret, same, "webhooks found in place are left as they are")

	for _, h := range w.roomWebhooks(room) { // HipChat deletes them
		require.NoError(t, w.sim.DeleteWebhook(w.ctx, w.alice.Token, room, h.ID))
	}
	halfHour()
	_, again := doorbellOf(t, w, room)
	assert.NotEqual(t, secret, again, "registered again, with a new secret")
	state, reason, _ := p.PushStatus(w.conn.ID, room)
	assert.Equal(t, poller.PushOn, state, reason)
	assert.False(t, p.Ring(id, secret, nil), "the old URL answers 404")
	assert.True(t, p.Ring(id, again, nil))
	p.Wait()
}

// A registration HipChat accepts in part — the first two webhooks created, the third answered with
// an error — forgets none of those two: when HipChat refuses for good (401: push is off for the
// feed) they are deleted at once and their URL rings nothing; when the failure may pass (503: the
// feed stays pending), they are on record, and deleting the subscription before the next try
// deletes them. Either way HipChat keeps no webhook of the feed once its subscription is gone.
func TestAPartlyAcceptedRegistrationLeavesNoWebhookBehind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		state  string
	}{
		{"refused", http.StatusUnauthorized, poller.PushOff},
		{"failed for now", http.StatusServiceUnavailable, poller.PushPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			room := w.room("Partly")
			sub := w.subscribe(w.conn, triggers.KindMessage, room)
			api := &emulatedWebhooks{Client: w.client, w: w, failNth: 3, failStatus: tc.status}
			p := w.poller(poller.Options{})
			p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: api})
			require.NoError(t, p.Tick(w.ctx)) // two webhooks accepted, the third not
			require.EqualValues(t, 3, api.creations.Load())
			state, reason, _ := p.PushStatus(w.conn.ID, room)
			require.Equal(t, tc.state, state, reason)
			if tc.state == poller.PushOff {
				assert.Empty(t, w.roomWebhooks(room), "push is off for the feed: the accepted webhooks are deleted at once")
				id, secret := api.lastCreated(t)
				assert.False(t, p.Ring(id, secret, nil), "their URL answers 404")
			} else {
				assert.Len(t, w.roomWebhooks(room), 2, "kept until the next try replaces them")
			}

			require.NoError(t, w.store.DeleteSubscription(sub.ID))
			p.Reload() // the next tick reads the subscriptions again, and finds the feed gone
			require.NoError(t, p.Tick(w.ctx))
			p.Wait()
			assert.Empty(t, w.roomWebhooks(room), "the feed's webhooks are deleted with its last subscription")
			_, _, ok := p.PushStatus(w.conn.ID, room)
			assert.False(t, ok, "the feed is no push feed any more")
		})
	}
}

// renameRoom renames room (its id) in the emulator, as a room admin would in HipChat.
func (w *world) renameRoom(room, name string) {
	w.t.Helper()
	require.NoError(w.t, w.sim.Do(w.ctx, http.MethodPut, "/v2/room/"+room, w.alice.Token, map[string]any{"name": name}, nil))
}

// A feed subscribed by the room's name keeps its doorbells when the room is renamed: its
// registration, the check that its webhooks are there (and the registration again when HipChat
// deleted them) and their deletion with the feed's last subscription name the room by its id, as
// the feed's reads do, not by the name it no longer has (HipChat answers 404 for it, and push for
// the feed would be off). So does a subscription stored before rooms were resolved, once the
// feed's first read resolved its room (its first registration names the room as given).
func TestAFeedSubscribedByNameKeepsItsDoorbellsWhenTheRoomIsRenamed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		subscribe func(w *world, room string) state.Subscription
	}{
		{"resolved at subscribe", func(w *world, room string) state.Subscription {
			sub := w.subscribe(w.conn, triggers.KindMessage, room)
			w.renameRoom(strconv.Itoa(sub.Room.ID), "Renamed Before")
			return sub
		}},
		{"stored before rooms were resolved", func(w *world, room string) state.Subscription {
			cursor, err := triggers.Baseline(w.ctx, w.client, w.conn, triggers.KindMessage, room)
			require.NoError(w.t, err)
			sub := testkit.AddSubscription(w.t, w.store, w.conn, triggers.KindMessage, room, w.sink.URL(), cursor)
			require.False(w.t, sub.Room.Resolved())
			return sub
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			id := w.room("Ops Team")
			sub := tc.subscribe(w, "Ops Team")
			api := &emulatedWebhooks{Client: w.client, w: w}
			p := w.poller(poller.Options{})
			p.EnablePush(poller.PushOptions{URL: doorbellBase, Webhooks: api})
			require.NoError(t, p.Tick(w.ctx)) // registers the feed's doorbells, and resolves a stored room
			state, reason, _ := p.PushStatus(w.conn.ID, "Ops Team")
			require.Equal(t, poller.PushOn, state, reason)
			_, secret := doorbellOf(t, w, id)
			w.renameRoom(id, "Renamed") // HipChat now answers 404 for "Ops Team"

			for _, h := range w.roomWebhooks(id) { // HipChat deletes them
				require.NoError(t, w.sim.DeleteWebhook(w.ctx, w.alice.Token, id, h.ID))
			}
			for range 30 { // the check is due after 30 minutes
				w.clock.Advance(time.Minute)
				require.NoError(t, p.Tick(w.ctx))
			}
			p.Wait()
			state, reason, _ = p.PushStatus(w.conn.ID, "Ops Team")
			assert.Equal(t, poller.PushOn, state, reason)
			_, again := doorbellOf(t, w, id)
			assert.NotEqual(t, secret, again, "the check found them gone and registered them again")

			require.NoError(t, w.store.DeleteSubscription(sub.ID))
			p.Reload() // the next tick reads the subscriptions again, and finds the feed gone
			require.NoError(t, p.Tick(w.ctx))
			p.Wait()
			assert.Empty(t, w.roomWebhooks(id), "the feed's webhooks are deleted with its last subscription")
		})
	}
}
