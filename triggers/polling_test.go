package triggers_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// pollAll polls like Logic Apps does: it keeps following the state while Retry-After is 0 and stops
// at the first answer that says to wait. It returns the ids delivered, in order, and the state.
func pollAll(t *testing.T, w *world, kind triggers.Kind, room, state string) ([]string, string) {
	t.Helper()
	var ids []string
	for round := 0; ; round++ {
		require.Less(t, round, 500, "the backlog never drained")
		poll, err := w.polling.Messages(w.ctx, w.conn, kind, room, triggers.FilterSpec{}, state)
		require.NoError(t, err)
		require.NotEmpty(t, poll.State)
		if poll.HasItems() {
			items := poll.Items.(triggers.HistoryResponse).Items
			require.NotEmpty(t, items, "a 200 always carries items")
			require.LessOrEqual(t, len(items), 100, "each answer is capped")
			for _, it := range items {
				assert.Equal(t, room, strconv.Itoa(it.RoomID), "HipChat's id of the room")
				assert.NotEmpty(t, it.RoomName)
				ids = append(ids, it.ID)
			}
		}
		state = poll.State
		if poll.RetryAfter != 0 {
			assert.Equal(t, 60*time.Second, poll.RetryAfter)
			return ids, state
		}
	}
}

func baseline(t *testing.T, w *world, kind triggers.Kind, room string) string {
	t.Helper()
	poll, err := w.polling.Messages(w.ctx, w.conn, kind, room, triggers.FilterSpec{}, "")
	require.NoError(t, err)
	require.False(t, poll.HasItems(), "the first poll only sets the baseline (202)")
	require.Equal(t, 60*time.Second, poll.RetryAfter)
	return poll.State
}

func assertExactlyOnce(t *testing.T, want, got []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "message %s delivered %d times", id, n)
	}
	assert.Equal(t, want, got, "every new message, oldest first, nothing else")
}

func TestOnNewMessageDeliversABacklogOf5000ExactlyOnceAndNothingOlder(t *testing.T) {
	w := newWorld(t)
	room := w.room("Backlog")
	w.post(room, 30, time.Millisecond, "before the flow")
	state := baseline(t, w, triggers.KindMessage, room)

	posted := w.post(room, 5000, time.Millisecond, "between two polls")
	callsBefore := w.hipchatCalls()
	got, state := pollAll(t, w, triggers.KindMessage, room, state)
	assertExactlyOnce(t, posted, got)
	t.Logf("5,000 messages drained with %d HipChat calls", w.hipchatCalls()-callsBefore)

	// Nothing new: one call, 202, the same state.
	callsBefore = w.hipchatCalls()
	poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, triggers.FilterSpec{}, state)
	require.NoError(t, err)
	assert.False(t, poll.HasItems(), "202: nothing new")
	assert.Equal(t, state, poll.State)
	assert.Equal(t, 1, w.hipchatCalls()-callsBefore, "one HipChat call per poll when nothing is new")
}

func TestOnNewMessageHandlesMessagesSharingOneTimestamp(t *testing.T) {
	w := newWorld(t)
	room := w.room("Same instant")
	state := baseline(t, w, triggers.KindMessage, room)

	// 50 messages in one microsecond, read in the middle of the run and after it.
	first := w.post(room, 20, 0, "tied")
	got, state := pollAll(t, w, triggers.KindMessage, room, state)
	assertExactlyOnce(t, first, got)
	rest := w.post(room, 30, 0, "tied")
	got, _ = pollAll(t, w, triggers.KindMessage, room, state)
	assertExactlyOnce(t, rest, got)
}

func TestOnNewMessageAcrossAGapWithTiedTimestampsAtThePageEdge(t *testing.T) {
	w := newWorld(t)
	room := w.room("Tied gap")
	w.post(room, 3, time.Second, "old")
	state := baseline(t, w, triggers.KindMessage, room)
	// 1,500 messages sharing one timestamp: more than /history/latest answers, all at one date.
	w.clock.Advance(time.Second)
	posted := w.post(room, 1500, 0, "tied")
	got, _ := pollAll(t, w, triggers.KindMessage, room, state)
	assertExactlyOnce(t, posted, got)
}

func TestOnNewMessageAndDeletedMessages(t *testing.T) {
	w := newWorld(t)
	room := w.room("Deletions")
	state := baseline(t, w, triggers.KindMessage, room)

	seen := w.post(room, 3, time.Second, "seen")
	got, state := pollAll(t, w, triggers.KindMessage, room, state)
	assertExactlyOnce(t, seen, got)

	// A message deleted after it was delivered is not delivered again; the cursor's own message
	// deleted before the next poll does not lose what follows it; a new message deleted before any
	// poll saw it is not delivered (it has no body left to deliver).
	require.NoError(t, w.sim.DeleteMessage(w.ctx, room, seen[0]))
	require.NoError(t, w.sim.DeleteMessage(w.ctx, room, seen[2]))
	next := w.post(room, 3, time.Second, "after")
	require.NoError(t, w.sim.DeleteMessage(w.ctx, room, next[1]))
	got, _ = pollAll(t, w, triggers.KindMessage, room, state)
	assertExactlyOnce(t, []string{next[0], next[2]}, got)
}

func TestOnNewFileDeliversOnlyFilesAndOnNewMessageEverything(t *testing.T) {
	w := newWorld(t)
	room := w.room("Files")
	fileState := baseline(t, w, triggers.KindFile, room)
	messageState := baseline(t, w, triggers.KindMessage, room)

	var everything, files []string
	for i := 0; i < 5; i++ {
		everything = append(everything, w.post(room, 40, time.Millisecond, "chatter")...)
		w.clock.Advance(time.Millisecond)
		require.NoError(t, w.sim.ShareFile(w.ctx, w.alice.Token, room, "report-"+strconv.Itoa(i)+".txt", "text/plain", []byte("numbers"), "see attached"))
		latest, err := w.client.LatestHistory(w.ctx, w.conn, room, "", 1)
		require.NoError(t, err)
		files = append(files, latest[0].ID)
		everything = append(everything, latest[0].ID)
	}
	w.clock.Advance(time.Millisecond)
	require.NoError(t, w.sim.Notify(w.ctx, w.alice.Token, room, "Jenkins", "build passed"))
	latest, err := w.client.LatestHistory(w.ctx, w.conn, room, "", 1)
	require.NoError(t, err)
	everything = append(everything, latest[0].ID)

	got, _ := pollAll(t, w, triggers.KindFile, room, fileState)
	assertExactlyOnce(t, files, got)
	got, _ = pollAll(t, w, triggers.KindMessage, room, messageState)
	assertExactlyOnce(t, everything, got)
}

func TestFileAndNotificationItemsHaveTheSeedShape(t *testing.T) {
	w := newWorld(t)
	room := w.room("Shapes")
	state := baseline(t, w, triggers.KindMessage, room)
	w.clock.Advance(time.Millisecond)
	require.NoError(t, w.sim.ShareFile(w.ctx, w.alice.Token, room, "chart.png", "image/png", []byte("\x89PNG"), "the chart"))
	w.clock.Advance(time.Millisecond)
	require.NoError(t, w.sim.Notify(w.ctx, w.alice.Token, room, "Jenkins", "build passed"))

	poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, triggers.FilterSpec{}, state)
	require.NoError(t, err)
	items := poll.Items.(triggers.HistoryResponse).Items
	require.Len(t, items, 2)
	file := items[0]
	require.NotNil(t, file.File)
	assert.Equal(t, "chart.png", file.File.Name)
	assert.NotEmpty(t, file.File.URL)
	assert.Equal(t, "the chart", file.Message)
	assert.Equal(t, triggers.Author{ID: w.alice.ID, MentionName: "alice", Name: "Alice Example"}, file.From)
	_, err = time.Parse(time.RFC3339Nano, file.Date)
	assert.NoError(t, err)

	note := items[1]
	assert.Equal(t, "notification", note.Type)
	assert.Equal(t, triggers.Author{Name: "Jenkins"}, note.From, "a notification's from label becomes the author's name")
	assert.Equal(t, "build passed", note.Message)
}

func TestPollingStateSurvivesAConnectorRestart(t *testing.T) {
	w := newWorld(t)
	room := w.room("Restart")
	state := baseline(t, w, triggers.KindMessage, room)
	first := w.post(room, 150, time.Millisecond, "one")

	poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, triggers.FilterSpec{}, state)
	require.NoError(t, err)
	require.Equal(t, time.Duration(0), poll.RetryAfter, "more items wait")
	delivered := []string{}
	for _, it := range poll.Items.(triggers.HistoryResponse).Items {
		delivered = append(delivered, it.ID)
	}

	// A new connector process: a new client and polling with the same server key (kept in its
	// database); the state in the URL is all it needs.
	restarted := newWorldSharing(t, w)
	second := w.post(room, 10, time.Millisecond, "two")
	got, _ := pollAll(t, restarted, triggers.KindMessage, room, poll.State)
	assertExactlyOnce(t, append(first, second...), append(delivered, got...))
}

// newWorldSharing is w seen by a freshly started connector: same HipChat, same server key.
func newWorldSharing(t *testing.T, w *world) *world {
	t.Helper()
	fresh := *w
	fresh.client = connector.NewClient(connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})})
	codec, err := triggers.NewStateCodec(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	fresh.polling = &triggers.Polling{Source: fresh.client, Codec: codec, Interval: 60 * time.Second, MaxItems: 100}
	return &fresh
}

func TestOnNewRoomSeesRoomsCreatedAfterTheBaselineAcrossPages(t *testing.T) {
	w := newWorldWithPageSize(t, 7)
	for i := 0; i < 10; i++ {
		w.room("old " + strconv.Itoa(i))
	}
	poll, err := w.polling.Rooms(w.ctx, w.conn, "")
	require.NoError(t, err)
	require.False(t, poll.HasItems(), "202: the baseline")
	state := poll.State

	var want []string
	for i := 0; i < 30; i++ {
		want = append(want, w.room("new "+strconv.Itoa(i)))
	}
	// One of them is archived again before the next poll: it was still created.
	require.NoError(t, w.sim.ArchiveRoom(w.ctx, w.alice.Token, want[3]))

	var got []string
	for round := 0; ; round++ {
		require.Less(t, round, 10)
		poll, err = w.polling.Rooms(w.ctx, w.conn, state)
		require.NoError(t, err)
		if poll.HasItems() {
			for _, r := range poll.Items.(triggers.RoomList).Items {
				got = append(got, strconv.Itoa(r.ID))
				if strconv.Itoa(r.ID) == want[3] {
					assert.True(t, r.IsArchived)
				}
			}
		}
		state = poll.State
		if poll.RetryAfter != 0 {
			break
		}
	}
	assertExactlyOnce(t, want, got)

	poll, err = w.polling.Rooms(w.ctx, w.conn, state)
	require.NoError(t, err)
	assert.False(t, poll.HasItems(), "202: nothing new")
}

func newWorldWithPageSize(t *testing.T, size int) *world {
	return newWorld(t, func(o *connector.ClientOptions) { o.PageSize = size })
}
