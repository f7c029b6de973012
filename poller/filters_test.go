package poller_test

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// subscribeFiltered creates a message subscription of conn with the filter params give, its users
// looked up, as the subscribe handler does (FIFO, as w.subscribe).
func (w *world) subscribeFiltered(conn connector.Connection, room string, params triggers.FilterParams) state.Subscription {
	w.t.Helper()
	spec, err := triggers.ParseFilter(triggers.KindMessage, params)
	require.NoError(w.t, err)
	spec, err = triggers.ResolveFilter(w.ctx, w.client, conn, spec)
	require.NoError(w.t, err)
	cursor, err := triggers.Baseline(w.ctx, w.client, conn, triggers.KindMessage, room)
	require.NoError(w.t, err)
	secret, err := webhook.NewSecret()
	require.NoError(w.t, err)
	sub, err := w.store.CreateSubscription(state.Subscription{
		ConnectionID: conn.ID, Kind: triggers.KindMessage, RoomID: room, CallbackURL: w.sink.URL(),
		Token: conn.Token(), Secret: secret, HipChatURL: conn.BaseURL, Cursor: cursor, Filter: spec,
		Ordering: state.OrderingFIFO, // the sink sees the order the poller queued in
	})
	require.NoError(w.t, err)
	w.sink.TrustSubscriptions(sub)
	return sub
}

// A feed is read once per tick whatever its subscriptions' filters: each subscription gets exactly
// what its filter keeps, the outbox holds nothing else, every cursor moves past what was left out,
// and the token made as many HipChat calls as a token with one unfiltered subscription of the room.
func TestFilteredSubscriptionsGetWhatTheyKeepFromTheFeedsOneRead(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	room := w.room("Ops")
	bob := w.person("Bob Example", "bob")
	// A second token of Alice's: a connection of its own, with one unfiltered subscription.
	plainToken, err := w.sim.PersonalToken(w.ctx, w.admin, "@alice")
	require.NoError(t, err)
	plainConn := connector.NewConnection(plainToken, w.hipchat)

	mention := w.subscribeFiltered(w.conn, room, triggers.FilterParams{Mentions: "me"})
	keyword := w.subscribeFiltered(w.conn, room, triggers.FilterParams{Keywords: "outage,incident"})
	both := w.subscribeFiltered(w.conn, room, triggers.FilterParams{Mentions: "me", Keywords: "outage"})
	notes := w.subscribeFiltered(w.conn, room, triggers.FilterParams{From: "CI", Include: "notifications"})
	plain := w.subscribe(plainConn, triggers.KindMessage, room)
	p := w.poller(poller.Options{Registerer: reg})
	require.NoError(t, p.Tick(w.ctx)) // every feed read once before the messages: counts start level

	want := map[string][]string{}
	var all []string
	post := func(text string, subs ...state.Subscription) {
		id, err := w.sim.PostMessage(w.ctx, bob.Token, room, text)
		require.NoError(t, err)
		all = append(all, id)
		for _, s := range subs {
			want[s.ID] = append(want[s.ID], id)
		}
	}
	for i := 0; i < 60; i++ {
		switch {
		case i%20 == 0:
			post(fmt.Sprintf("@alice the OUTAGE %d is yours", i), mention, keyword, both)
		case i%7 == 0:
			post(fmt.Sprintf("@alice coffee %d?", i), mention)
		case i%9 == 0:
			post(fmt.Sprintf("incident %d closed", i), keyword)
		case i%11 == 0:
			post(fmt.Sprintf("outages %d hit us", i))
		default:
			post(fmt.Sprintf("chatter %d", i))
		}
	}
	require.NoError(t, w.sim.Notify(w.ctx, w.alice.Token, room, "CI", "@alice build green"))
	history, err := w.client.LatestHistory(w.ctx, w.conn, room, "", 1)
	require.NoError(t, err)
	want[notes.ID] = []string{history[0].ID}
	all = append(all, history[0].ID)

	filteredBefore, plainBefore := w.calls(w.alice.Token), w.calls(plainToken)
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, w.calls(plainToken)-plainBefore, w.calls(w.alice.Token)-filteredBefore,
		"four filtered subscriptions cost the reads of one unfiltered one")
	w.deliver()

	got := w.sink.Accepted()
	for _, s := range []state.Subscription{mention, keyword, both, notes} {
		assert.Equal(t, want[s.ID], got[s.ID], "subscription %s", s.ID)
		log, err := w.store.Deliveries(s.ID, 0)
		require.NoError(t, err)
		assert.Len(t, log, len(want[s.ID]), "the outbox holds only what matched")
		cursor, err := triggers.DecodeMessageCursor(w.subscription(s.ID).Cursor)
		require.NoError(t, err)
		assert.Equal(t, all[len(all)-1], cursor.LastID, "the cursor passed what was left out")
	}
	assert.Equal(t, all, got[plain.ID], "the unfiltered subscription gets everything")
	assert.Len(t, want[both.ID], 3)

	filtered := 4*len(all) - len(want[mention.ID]) - len(want[keyword.ID]) - len(want[both.ID]) - len(want[notes.ID])
	assert.Equal(t, float64(filtered), testutil.ToFloat64(counterOf(t, reg, "message", "webhook")),
		"every message a filter left out is counted, by kind")

	// The next tick: nothing new, nothing sent again.
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Equal(t, got, w.sink.Accepted())
}

// counterOf reads hipchat_connector_messages_filtered_total{kind, protocol} from reg.
func counterOf(t *testing.T, reg *prometheus.Registry, kind, protocol string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != triggers.MetricFiltered {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["protocol"] == protocol {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "read"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	t.Fatalf("no %s{kind=%q,protocol=%q}", triggers.MetricFiltered, kind, protocol)
	return nil
}

// Filters survive a restart: a new poller on the same store reads them back and keeps filtering.
func TestAFiltersSubscriptionKeepsFilteringAfterARestart(t *testing.T) {
	w := newWorld(t)
	room := w.room("Ops")
	bob := w.person("Bob Example", "bob")
	sub := w.subscribeFiltered(w.conn, room, triggers.FilterParams{Keywords: "deploy", Pattern: `#\d+`})
	first := w.poller(poller.Options{})
	_, err := w.sim.PostMessage(w.ctx, bob.Token, room, "deploy soon")
	require.NoError(t, err)
	require.NoError(t, first.Tick(w.ctx))

	restarted := w.poller(poller.Options{})
	keep, err := w.sim.PostMessage(w.ctx, bob.Token, room, "Deploy #42 done")
	require.NoError(t, err)
	_, err = w.sim.PostMessage(w.ctx, bob.Token, room, "lunch #1")
	require.NoError(t, err)
	require.NoError(t, restarted.Tick(w.ctx))
	w.deliver()
	assert.Equal(t, []string{keep}, w.sink.Accepted()[sub.ID])
}

// A held filtered subscription: only what its filter keeps counts against the outbox's bound, its
// cursor stops after the last match it could queue (the filtered-out messages before it passed and
// counted, those after it read again later), and once its deliveries drain it gets exactly the
// rest of its matches.
func TestAFilteredSubscriptionAtTheOutboxBound(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	room := w.room("Bounded")
	bob := w.person("Bob Example", "bob")
	sub := w.subscribeFiltered(w.conn, room, triggers.FilterParams{Keywords: "outage"})
	p := w.poller(poller.Options{MaxPending: 2, Registerer: reg})
	w.setStatus(p, sub.ID, state.StatusPaused)

	var want []string
	for i := 0; i < 12; i++ {
		text := fmt.Sprintf("chatter %d", i)
		if i%3 == 1 {
			text = fmt.Sprintf("outage %d", i)
		}
		id, err := w.sim.PostMessage(w.ctx, bob.Token, room, text)
		require.NoError(t, err)
		if i%3 == 1 {
			want = append(want, id)
		}
	}
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, 2, w.pending(sub.ID), "two matches fill the bound; the chatter takes no room")
	cursor, err := triggers.DecodeMessageCursor(w.subscription(sub.ID).Cursor)
	require.NoError(t, err)
	assert.Equal(t, want[1], cursor.LastID, "the cursor waits right after the last match it queued")
	assert.Equal(t, 3.0, testutil.ToFloat64(counterOf(t, reg, "message", "webhook")), "the chatter before it, passed")

	w.setStatus(p, sub.ID, state.StatusActive)
	for i := 0; i < 3; i++ {
		w.deliver()
		require.NoError(t, p.Tick(w.ctx))
	}
	w.deliver()
	assert.Equal(t, want, w.sink.Accepted()[sub.ID], "every match once, in order")
	assert.Equal(t, 8.0, testutil.ToFloat64(counterOf(t, reg, "message", "webhook")), "each chatter message counted once")
}
