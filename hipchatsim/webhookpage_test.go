package hipchatsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// callsPage is one answer of GET /_sim/webhooks with paging.
type callsPage struct {
	Calls []simclient.WebhookCall `json:"calls"`
	More  *bool                   `json:"more"`
}

// TestWebhookCallsPageNewestFirst: GET /_sim/webhooks?limit=N answers the newest N calls (oldest
// first, as without a limit) and whether older ones remain; before=SEQ pages back from there, so a
// page can show them newest first, page by page, each once; room_id keeps one room's calls; bad
// values are 400s naming the parameter. Without these parameters the answer is as it was.
func TestWebhookCallsPageNewestFirst(t *testing.T) {
	s, hc := newPushSim(t)
	ctx := context.Background()
	rc := newReceiver(t)
	rooms := map[string]int{}
	for _, name := range []string{"Alpha", "Beta"} {
		id, err := hc.CreateRoom(ctx, "ann-token", name, "public")
		require.NoError(t, err)
		rooms[name] = id
		_, err = hc.CreateWebhook(ctx, "ann-token", name, simclient.NewWebhook{URL: rc.URL, Event: "room_message"})
		require.NoError(t, err)
	}
	for i := range 8 {
		room := "Alpha"
		if i%3 == 2 {
			room = "Beta"
		}
		_, err := hc.PostMessage(ctx, "ann-token", room, "message "+strconv.Itoa(i))
		require.NoError(t, err)
	}
	var all []simclient.WebhookCall
	require.Eventually(t, func() bool {
		var err error
		all, err = hc.WebhookCalls(ctx)
		return err == nil && len(all) == 8
	}, 30*time.Second, 5*time.Millisecond)

	get := func(query string) callsPage {
		t.Helper()
		var p callsPage
		require.NoError(t, json.Unmarshal(s.with(t).must(http.StatusOK, "GET", "/_sim/webhooks?"+query, "", nil).body, &p), query)
		return p
	}
	whole := get("")
	require.Len(t, whole.Calls, 8)
	require.Nil(t, whole.More, "no 'more' without a limit: the answer is as it was")

	var newestFirst []uint64
	query := "limit=3"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3, "three pages of 3, 3 and 2")
		p := get(query)
		require.NotNil(t, p.More)
		require.NotEmpty(t, p.Calls)
		for i := len(p.Calls) - 1; i >= 0; i-- {
			newestFirst = append(newestFirst, p.Calls[i].Seq)
		}
		for i := 1; i < len(p.Calls); i++ {
			require.Greater(t, p.Calls[i].Seq, p.Calls[i-1].Seq, "oldest first within the page")
		}
		if !*p.More {
			break
		}
		query = "limit=3&before=" + strconv.FormatUint(p.Calls[0].Seq, 10)
	}
	var want []uint64
	for i := len(all) - 1; i >= 0; i-- {
		want = append(want, all[i].Seq)
	}
	require.Equal(t, want, newestFirst, "every call once, newest first")

	beta := get("room_id=" + strconv.Itoa(rooms["Beta"]))
	require.Len(t, beta.Calls, 2)
	for _, c := range beta.Calls {
		require.Equal(t, rooms["Beta"], c.RoomID)
	}
	require.Len(t, get("limit=512").Calls, 8)
	require.False(t, *get("limit=512").More)

	for query, field := range map[string]string{
		"limit=0": "limit", "limit=513": "limit", "limit=x": "limit",
		"limit=2&before=-1": "before", "before=3": "before", "room_id=0": "room_id", "room_id=Beta": "room_id",
	} {
		r := s.with(t).must(http.StatusBadRequest, "GET", "/_sim/webhooks?"+query, "", nil)
		require.Equal(t, field, r.json(t)["error"].(map[string]any)["field"], query)
	}
}
