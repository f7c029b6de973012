package poller_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"net/http"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

func TestMessagesFilesAndRoomsArriveSignedExactlyOnce(t *testing.T) {
	w := newWorld(t)
	room := w.room("Ops")
	before := w.post(room, 3, "before subscribing")
	messages := w.subscribe(w.conn, triggers.KindMessage, room)
	files := w.subscribe(w.conn, triggers.KindFile, room)
	rooms := w.subscribe(w.conn, triggers.KindRoom, "")
	p := w.poller(poller.Options{})

	posted := w.post(room, 2, "hello")
	require.NoError(t, w.sim.Notify(w.ctx, w.alice.Token, room, "CI", "build green"))
	require.NoError(t, w.sim.ShareFile(w.ctx, w.alice.Token, room, "report.pdf", "application/pdf", []byte("%PDF-1.4"), "the report"))
	newRoom := w.room("Launch")

	require.NoError(t, p.Tick(w.ctx))
	w.deliver()

	got := w.sink.Requests()
	byItem := map[string]map[string]testkit.Received{} // subscription → payload id → request
	for _, r := range got {
		require.NoError(t, r.VerifyErr, "every delivery verifies with its subscription's secret")
		assert.Equal(t, state.DeliveryID(r.Sub, r.Item), r.WebhookID)
		if byItem[r.Sub] == nil {
			byItem[r.Sub] = map[string]testkit.Received{}
		}
		_, dup := byItem[r.Sub][r.Item]
		assert.False(t, dup, "event %s delivered twice to %s", r.Item, r.Sub)
		byItem[r.Sub][r.Item] = r
	}
	assert.Len(t, byItem[messages.ID], 4, "two messages, a notification and the file's message")
	for _, id := range posted {
		assert.Contains(t, byItem[messages.ID], id)
	}
	for _, id := range before {
		assert.NotContains(t, byItem[messages.ID], id, "nothing from before the subscription")
	}
	require.Len(t, byItem[files.ID], 1, "only the file")
	for _, r := range byItem[files.ID] {
		var item triggers.HistoryItem
		require.NoError(t, json.Unmarshal(r.Body, &item))
		assert.Equal(t, "file.uploaded", r.Event)
		require.NotNil(t, item.File)
		assert.Equal(t, "report.pdf", item.File.Name)
		assert.Equal(t, room, strconv.Itoa(item.RoomID), "HipChat's id of the room")
		assert.Equal(t, "Ops", item.RoomName)
		assert.Equal(t, "the report", item.Message)
		assert.Equal(t, "alice", item.From.MentionName)
	}
	require.Len(t, byItem[rooms.ID], 1)
	r := byItem[rooms.ID][newRoom]
	assert.Equal(t, "room.created", r.Event)
	var roomItem triggers.RoomItem
	require.NoError(t, json.Unmarshal(r.Body, &roomItem))
	assert.Equal(t, triggers.RoomItem{ID: atoi(t, newRoom), Name: "Launch", Privacy: "public"}, roomItem)

	// Nothing new: the next tick and delivery send nothing.
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Len(t, w.sink.Requests(), len(got))
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestTenSubscriptionsOnOneRoomCostOneHipChatCallPerTick(t *testing.T) {
	w := newWorld(t)
	room := w.room("Busy")
	var subs []state.Subscription
	for i := 0; i < 10; i++ {
		kind := triggers.KindMessage
		if i%2 == 1 {
			kind = triggers.KindFile
		}
		subs = append(subs, w.subscribe(w.conn, kind, room))
	}
	p := w.poller(poller.Options{})

	calls := w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, calls+1, w.calls(w.alice.Token), "nothing new: one call for ten subscriptions")

	ids := w.post(room, 5, "news")
	calls = w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, calls+1, w.calls(w.alice.Token), "five new messages: still one call")
	w.deliver()
	for i, sub := range subs {
		if i%2 == 0 {
			assert.Equal(t, ids, w.sink.Accepted()[sub.ID], "message subscription %d got every message in order", i)
		} else {
			assert.Empty(t, w.sink.Accepted()[sub.ID], "file subscription %d: no files were posted", i)
		}
	}
}

func TestSubscribersAtDifferentCursorsShareOneRead(t *testing.T) {
	w := newWorld(t)
	room := w.room("Shared")
	early := w.subscribe(w.conn, triggers.KindMessage, room)
	first := w.post(room, 3, "first")
	late := w.subscribe(w.conn, triggers.KindMessage, room)
	second := w.post(room, 2, "second")
	p := w.poller(poller.Options{})

	calls := w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx))
	assert.Equal(t, calls+1, w.calls(w.alice.Token))
	w.deliver()
	assert.Equal(t, append(append([]string{}, first...), second...), w.sink.Accepted()[early.ID])
	assert.Equal(t, second, w.sink.Accepted()[late.ID], "the later subscriber starts at its own baseline")
	assert.Equal(t, w.subscription(early.ID).Cursor, w.subscription(late.ID).Cursor, "both now stand at the newest message")
}

func TestABacklogLargerThanOneReadDrainsInOrderOverTicks(t *testing.T) {
	w := newWorld(t)
	room := w.room("Flood")
	a := w.subscribe(w.conn, triggers.KindMessage, room)
	b := w.subscribe(w.conn, triggers.KindMessage, room)
	ids := w.post(room, 25, "flood")
	p := w.poller(poller.Options{ReadLimit: 10})
	for i := 0; i < 4; i++ {
		require.NoError(t, p.Tick(w.ctx))
	}
	w.deliver()
	assert.Equal(t, ids, w.sink.Accepted()[a.ID])
	assert.Equal(t, ids, w.sink.Accepted()[b.ID])
}

func TestATokenHipChatRejectsSuspendsItsSubscriptions(t *testing.T) {
	w := newWorld(t)
	bob := w.person("Bob Example", "bob")
	bobConn := connector.NewConnection(bob.Token, w.hipchat)
	room := w.room("Shared")
	aliceSubs := []state.Subscription{w.subscribe(w.conn, triggers.KindMessage, room), w.subscribe(w.conn, triggers.KindRoom, "")}
	bobSub := w.subscribe(bobConn, triggers.KindMessage, room)
	p := w.poller(poller.Options{})

	require.NoError(t, w.sim.Do(w.ctx, "DELETE", "/v2/oauth/token/"+w.alice.Token, w.alice.Token, nil, nil))
	msg, err := w.sim.PostMessage(w.ctx, bob.Token, room, "from bob")
	require.NoError(t, err)

	err = p.Tick(w.ctx)
	require.Error(t, err)
	assert.Equal(t, connector.KindTokenRejected, connector.KindOf(err))
	for _, sub := range aliceSubs {
		got := w.subscription(sub.ID)
		assert.Equal(t, state.StatusSuspended, got.Status)
		assert.Regexp(t, `^HipChat rejected the token \(401\) at \d{4}-\d\d-\d\dT`, got.StatusReason)
	}
	assert.Contains(t, w.logs.String(), "subscriptions are suspended")

	calls := w.calls(w.alice.Token)
	require.NoError(t, p.Tick(w.ctx), "a suspended connection is not polled")
	assert.Equal(t, calls, w.calls(w.alice.Token), "no hammering with a rejected token")

	w.deliver()
	assert.Equal(t, []string{msg}, w.sink.Accepted()[bobSub.ID], "another connection is not affected")
}

// panickySource panics when room is read, and reads the rest through the real client.
type panickySource struct {
	triggers.Source
	room string
}

func (p panickySource) LatestHistory(ctx context.Context, conn connector.Connection, room, notBefore string, max int) ([]connector.Message, error) {
	if room == p.room {
		panic("a bug in one feed")
	}
	return p.Source.LatestHistory(ctx, conn, room, notBefore, max)
}

func TestAPanicInOneFeedDoesNotStopTheOthers(t *testing.T) {
	w := newWorld(t)
	bad, good := w.room("Bad"), w.room("Good")
	badSub := w.subscribe(w.conn, triggers.KindMessage, bad)
	goodSub := w.subscribe(w.conn, triggers.KindMessage, good)
	w.post(bad, 2, "lost?")
	ids := w.post(good, 2, "fine")
	w.source = panickySource{Source: w.client, room: bad}
	p := w.poller(poller.Options{})

	err := p.Tick(w.ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "panic: a bug in one feed")
	assert.Contains(t, w.logs.String(), "reading a feed panicked")
	w.deliver()
	assert.Equal(t, ids, w.sink.Accepted()[goodSub.ID])
	assert.Equal(t, badSub.Cursor, w.subscription(badSub.ID).Cursor, "the failed feed's cursor did not move")

	w.source = w.client
	require.NoError(t, w.poller(poller.Options{}).Tick(w.ctx))
	w.deliver()
	assert.Len(t, w.sink.Accepted()[badSub.ID], 2, "the next tick catches up")
}

// failingSource fails every read with err.
type failingSource struct {
	triggers.Source
	err error
}

func (f failingSource) LatestHistory(context.Context, connector.Connection, string, string, int) ([]connector.Message, error) {
	return nil, f.err
}

func TestOtherHipChatErrorsAreRetriedNextTick(t *testing.T) {
	w := newWorld(t)
	room := w.room("Flaky")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	ids := w.post(room, 2, "later")
	w.source = failingSource{Source: w.client, err: &connector.Error{Kind: connector.KindUnavailable, Status: 503}}
	err := w.poller(poller.Options{}).Tick(w.ctx)
	require.Error(t, err)
	assert.Equal(t, state.StatusActive, w.subscription(sub.ID).Status, "not suspended")
	assert.Contains(t, w.logs.String(), "trying again next tick")

	w.source = w.client
	require.NoError(t, w.poller(poller.Options{}).Tick(w.ctx))
	w.deliver()
	assert.Equal(t, ids, w.sink.Accepted()[sub.ID])
}

func TestCatchUpBoundSkipsTheFloodAndSaysSo(t *testing.T) {
	t.Run("max age", func(t *testing.T) {
		w := newWorld(t)
		room := w.room("Downtime")
		sub := w.subscribe(w.conn, triggers.KindMessage, room)
		w.post(room, 4, "old")
		w.clock.Advance(3 * time.Hour)
		fresh := w.post(room, 2, "fresh")
		p := w.poller(poller.Options{CatchUp: poller.CatchUp{MaxAge: time.Hour}})
		require.NoError(t, p.Tick(w.ctx))
		w.deliver()
		assert.Equal(t, fresh, w.sink.Accepted()[sub.ID])
		got := w.sink.Requests()
		require.Len(t, got, 2)
		assert.Equal(t, "catch-up bound skipped 4 earlier events (4 older than 1h0m0s)", got[0].CatchUp)
		assert.Empty(t, got[1].CatchUp)
		assert.Contains(t, w.logs.String(), "catch-up bound skipped events")

		dl, err := w.store.Delivery(sub.ID, got[0].WebhookID)
		require.NoError(t, err)
		assert.Equal(t, got[0].CatchUp, dl.CatchUpNote, "the delivery log shows the note too")
	})
	t.Run("max events", func(t *testing.T) {
		w := newWorld(t)
		room := w.room("Flood")
		sub := w.subscribe(w.conn, triggers.KindMessage, room)
		ids := w.post(room, 10, "flood")
		p := w.poller(poller.Options{CatchUp: poller.CatchUp{MaxEvents: 3}})
		require.NoError(t, p.Tick(w.ctx))
		w.deliver()
		assert.Equal(t, ids[7:], w.sink.Accepted()[sub.ID], "the newest three")
		assert.Equal(t, "catch-up bound skipped 7 earlier events (7 beyond the newest 3 of one poll)", w.sink.Requests()[0].CatchUp)

		// The skipped ones are passed for good.
		require.NoError(t, p.Tick(w.ctx))
		w.deliver()
		assert.Len(t, w.sink.Requests(), 3)
	})
}

// TestCatchUpMaxEventsBoundsTheWholeBacklog: -catch-up-max-events n delivers at most the newest n
// events of a backlog in total, however many reads the backlog takes without the bound: 1,200
// messages, more than one read (1,000) and than HipChat's newest page, give the newest 3 once, not
// the newest 3 of each read (6); so do 10 new rooms read 4 at a time.
func TestCatchUpMaxEventsBoundsTheWholeBacklog(t *testing.T) {
	t.Run("messages", func(t *testing.T) {
		w := newWorld(t)
		room := w.room("Downtime")
		sub := w.subscribe(w.conn, triggers.KindMessage, room)
		var ids []string
		for range 40 { // within the emulator's flood control: 30 a minute from one sender
			ids = append(ids, w.post(room, 30, "while down")...)
			w.clock.Advance(time.Minute)
		}
		p := w.poller(poller.Options{CatchUp: poller.CatchUp{MaxEvents: 3}})
		for range 3 {
			require.NoError(t, p.Tick(w.ctx))
			w.deliver()
		}
		assert.Equal(t, ids[len(ids)-3:], w.sink.Accepted()[sub.ID], "the newest three of the whole backlog")
		assert.Equal(t, "catch-up bound skipped 1197 earlier events (1197 beyond the newest 3 of one poll)", w.sink.Requests()[0].CatchUp)

		more := w.post(room, 2, "after")
		require.NoError(t, p.Tick(w.ctx))
		w.deliver()
		assert.Equal(t, append(ids[len(ids)-3:], more...), w.sink.Accepted()[sub.ID], "then every new event, as before")
	})
	t.Run("rooms", func(t *testing.T) {
		w := newWorld(t)
		sub := w.subscribe(w.conn, triggers.KindRoom, "")
		var rooms []string
		for i := range 10 {
			rooms = append(rooms, w.room("New "+strconv.Itoa(i)))
		}
		p := w.poller(poller.Options{ReadLimit: 4, CatchUp: poller.CatchUp{MaxEvents: 3}})
		for range 3 {
			require.NoError(t, p.Tick(w.ctx))
			w.deliver()
		}
		assert.Equal(t, rooms[7:], w.sink.Accepted()[sub.ID], "the newest three of the ten, not three of each read of four")
	})
}

func TestGoneDisablesAndExhaustedDeadLettersEndToEnd(t *testing.T) {
	w := newWorld(t)
	room := w.room("Ends")
	gone := newSink(t, func(int, *http.Request) int { return http.StatusGone })
	broken := newSink(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	goneSub := w.subscribe(w.conn, triggers.KindMessage, room)
	brokenSub := w.subscribe(w.conn, triggers.KindMessage, room)
	// Point the two subscriptions at their sinks.
	for _, s := range []struct {
		sub  *state.Subscription
		sink *sink
	}{{&goneSub, gone}, {&brokenSub, broken}} {
		require.NoError(t, w.store.DeleteSubscription(s.sub.ID))
		*s.sub = addSubscription(t, w.store, w.conn, triggers.KindMessage, room, s.sink.URL(), s.sub.Cursor)
		s.sink.TrustSubscriptions(*s.sub)
	}
	p := w.poller(poller.Options{})
	w.post(room, 1, "one")
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	for _, delay := range webhook.DefaultRetrySchedule {
		w.clock.Advance(delay)
		w.deliver()
	}

	assert.Len(t, gone.Requests(), 1)
	assert.Equal(t, state.StatusDisabled, w.subscription(goneSub.ID).Status)
	assert.Len(t, broken.Requests(), 8)
	got := w.subscription(brokenSub.ID)
	assert.Equal(t, state.StatusActive, got.Status)
	assert.Equal(t, 1, got.Health.DeadLettered)
	log, err := w.store.Deliveries(brokenSub.ID, 0)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, state.DeliveryDead, log[0].Status)

	// A disabled subscription is no longer polled either.
	w.post(room, 1, "two")
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	assert.Len(t, gone.Requests(), 1)
}

func TestNewValidatesOptions(t *testing.T) {
	w := newWorld(t)
	for name, opts := range map[string]poller.Options{
		"no store":          {Source: w.client},
		"no source":         {Store: w.store},
		"bad schedule":      {Store: w.store, Source: w.client, Schedule: "every minute"},
		"read limit":        {Store: w.store, Source: w.client, ReadLimit: 1001},
		"negative catch-up": {Store: w.store, Source: w.client, CatchUp: poller.CatchUp{MaxAge: -time.Second}},
		"negative bound":    {Store: w.store, Source: w.client, MaxPending: -1},
		"negative prune":    {Store: w.store, Source: w.client, PruneEvery: -time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := poller.New(opts)
			assert.Error(t, err)
		})
	}
	assert.NoError(t, poller.ValidateSchedule("@every 1s"))
	assert.NoError(t, poller.ValidateSchedule("*/5 * * * *"))
	assert.Error(t, poller.ValidateSchedule("@every"))
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	w := newWorld(t)
	p := w.poller(poller.Options{Schedule: "@every 1h"})
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestPruneDropsFinishedDeliveriesPastRetention(t *testing.T) {
	w := newWorld(t)
	room := w.room("Old news")
	sub := w.subscribe(w.conn, triggers.KindMessage, room)
	w.post(room, 2, "soon forgotten")
	p := w.poller(poller.Options{})
	require.NoError(t, p.Tick(w.ctx))
	w.deliver()
	log, err := w.store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	require.Len(t, log, 2)

	p.Prune()
	log, err = w.store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	assert.Len(t, log, 2, "kept within the retention")

	w.clock.Advance(state.DefaultRetentionAge + time.Hour)
	p.Prune()
	log, err = w.store.Deliveries(sub.ID, 0)
	require.NoError(t, err)
	assert.Empty(t, log)
	assert.Contains(t, w.logs.String(), "pruned the delivery log")
}

// slowSource blocks reads of room until the tick's context ends, and records the feeds read
// (connection id/room) in order.
type slowSource struct {
	triggers.Source
	mu    sync.Mutex
	room  string
	order []string
}

func (s *slowSource) LatestHistory(ctx context.Context, conn connector.Connection, room, notBefore string, max int) ([]connector.Message, error) {
	s.mu.Lock()
	s.order = append(s.order, conn.ID+"/"+room)
	slow := room == s.room
	s.mu.Unlock()
	if slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Source.LatestHistory(ctx, conn, room, notBefore, max)
}

func TestATickThatRunsOutOfTimeReadsTheFeedsLeftOutFirstNextTime(t *testing.T) {
	w := newWorld(t)
	bob := w.person("Bob Example", "bob")
	bobConn := connector.NewConnection(bob.Token, w.hipchat)
	rooms := []string{w.room("A"), w.room("B"), w.room("C")}
	for _, room := range rooms {
		w.subscribe(w.conn, triggers.KindMessage, room)
	}
	bobSub := w.subscribe(bobConn, triggers.KindMessage, rooms[0])
	msg, err := w.sim.PostMessage(w.ctx, bob.Token, rooms[0], "bob's")
	require.NoError(t, err)

	src := &slowSource{Source: w.client, room: rooms[1]}
	w.source = src
	p := w.poller(poller.Options{})
	ctx, cancel := context.WithTimeout(w.ctx, 300*time.Millisecond) // what Run gives a tick: its interval
	defer cancel()
	err = p.Tick(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, w.logs.String(), "ran out of time")
	w.deliver()
	assert.Equal(t, []string{msg}, w.sink.Accepted()[bobSub.ID], "another connection is not held back")

	src.mu.Lock()
	src.room, src.order = "", nil
	src.mu.Unlock()
	require.NoError(t, p.Tick(w.ctx))
	src.mu.Lock()
	defer src.mu.Unlock()
	var alice []string
	for _, feed := range src.order {
		if room, ok := strings.CutPrefix(feed, w.conn.ID+"/"); ok {
			alice = append(alice, room)
		}
	}
	assert.Equal(t, []string{rooms[1], rooms[2], rooms[0]}, alice, "the feeds left out go first, the one read goes last")
}
