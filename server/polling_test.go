package server_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A polling trigger drains a backlog larger than one answer (100 items) over quick polls: every page
// before the last says Retry-After 0, and the last one the polling interval (60), since nothing
// more is known to wait: it costs the caller no extra immediate poll, nor HipChat an extra call.
// The larger backlog is more than one read of the history holds (1,000), so its pages come from
// walks back through /history and from /history/latest, and the page that ends a walk with more
// known after it still says 0.
func TestAPollingTriggersLastPageOfABacklogWaitsTheInterval(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backlog int
	}{
		{"three pages", 250},
		{"beyond one read", 1150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			room := e.room("Backlog")
			next := "/triggers/rooms/" + room + "/messages"
			poll := func() (status int, retryAfter string, items int) {
				t.Helper()
				resp := e.call("GET", next, e.alice.Token, nil)
				require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, resp.Status, string(resp.Body))
				location := resp.Header.Get("Location")
				require.True(t, strings.HasPrefix(location, e.api.URL), location)
				next = strings.TrimPrefix(location, e.api.URL)
				if resp.Status == http.StatusOK {
					var body struct{ Items []json.RawMessage }
					resp.json(t, &body)
					items = len(body.Items)
				}
				return resp.Status, resp.Header.Get("Retry-After"), items
			}
			status, _, _ := poll()
			require.Equal(t, http.StatusAccepted, status, "the first poll sets the baseline")
			for i := range tc.backlog {
				_, err := e.sim.PostMessage(e.ctx, e.alice.Token, room, "backlog "+strconv.Itoa(i))
				require.NoError(t, err)
			}

			pages := (tc.backlog + 99) / 100
			var waits []string
			got := 0
			for range pages + 2 {
				status, retryAfter, items := poll()
				waits = append(waits, retryAfter)
				got += items
				if status != http.StatusOK || retryAfter != "0" {
					break
				}
			}
			want := make([]string, pages)
			for i := range want {
				want[i] = "0"
			}
			want[pages-1] = "60"
			assert.Equal(t, want, waits, "Retry-After of each poll: 0 while more waits, the interval on the last page")
			assert.Equal(t, tc.backlog, got, "every message of the backlog, once")
		})
	}
}
