package triggers_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// afterFirstRoomPage runs fn once, after HipChat answered the first page of a room listing and
// before the connector asks for the next: what another user does in HipChat meanwhile.
type afterFirstRoomPage struct {
	mu    sync.Mutex
	fn    func()
	inner http.RoundTripper
}

func (a *afterFirstRoomPage) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.inner.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet && r.URL.Path == "/v2/room" && r.URL.Query().Get("start-index") == "" {
		a.mu.Lock()
		fn := a.fn
		a.fn = nil
		a.mu.Unlock()
		if fn != nil {
			fn()
		}
	}
	return resp, err
}

// TestOnNewRoomSeesARoomCreatedWhileAnOlderRoomIsDeletedMidListing: the room list is read by offset
// (start-index), page by page. When an older room is deleted between two pages of one read, every
// later room moves one place up, and the room that was first on the next page is on neither: a
// room created since the cursor is then never delivered, since the cursor moves past it (the
// newest id the read saw).
func TestOnNewRoomSeesARoomCreatedWhileAnOlderRoomIsDeletedMidListing(t *testing.T) {
	hook := &afterFirstRoomPage{inner: http.DefaultTransport}
	w := newWorld(t, func(o *connector.ClientOptions) {
		o.PageSize = 2
		o.HTTPClient = &http.Client{Transport: hook}
	})
	old := w.room("old 0")
	w.room("old 1")
	poll, err := w.polling.Rooms(w.ctx, w.conn, "")
	require.NoError(t, err)
	state := poll.State

	want := []string{w.room("new 0"), w.room("new 1")}
	hook.mu.Lock()
	hook.fn = func() { require.NoError(t, w.sim.DeleteRoom(w.ctx, w.alice.Token, old)) }
	hook.mu.Unlock()

	var got []string
	for round := 0; round < 3; round++ {
		poll, err = w.polling.Rooms(w.ctx, w.conn, state)
		require.NoError(t, err)
		if poll.HasItems() {
			for _, r := range poll.Items.(triggers.RoomList).Items {
				got = append(got, strconv.Itoa(r.ID))
			}
		}
		state = poll.State
	}
	assert.Equal(t, want, got, "every room created after the baseline, once")
}
