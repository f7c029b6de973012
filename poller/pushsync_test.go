package poller_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// emulatedWebhooks is HipChat's room webhook API through the emulator, counting the listing calls.
type emulatedWebhooks struct {
	*connector.Client
	lists atomic.Int64
}

func (e *emulatedWebhooks) ListRoomWebhooks(ctx context.Context, conn connector.Connection, room string) ([]connector.RoomWebhook, error) {
	e.lists.Add(1)
	return e.Client.ListRoomWebhooks(ctx, conn, room)
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
	api := &emulatedWebhooks{Client: w.client}
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
