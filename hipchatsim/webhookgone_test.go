package hipchatsim

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// TestWebhooksToGoneReceivers: HipChat documented nothing about failing webhooks — no retries, no
// disabling — so a webhook whose receiver is gone (404, or nothing listening) stays registered and
// is called for every event, and GET /_sim/webhooks can be narrowed to the failing calls by status
// and by webhook.
func TestWebhooksToGoneReceivers(t *testing.T) {
	s, hc := newPushSim(t)
	ctx := context.Background()
	var goneCalls atomic.Int32
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		goneCalls.Add(1)
		http.NotFound(w, nil)
	}))
	t.Cleanup(gone.Close)
	healthy := newReceiver(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	nobody := "http://" + closed.Addr().String() + "/hook"
	require.NoError(t, closed.Close()) // nothing listens there any more

	_, err = hc.CreateRoom(ctx, "ann-token", "Doorbells", "public")
	require.NoError(t, err)
	goneID, err := hc.CreateWebhook(ctx, "ann-token", "Doorbells", simclient.NewWebhook{URL: gone.URL + "/hook", Event: "room_message"})
	require.NoError(t, err)
	healthyID, err := hc.CreateWebhook(ctx, "ann-token", "Doorbells", simclient.NewWebhook{URL: healthy.URL, Event: "room_message"})
	require.NoError(t, err)
	nobodyID, err := hc.CreateWebhook(ctx, "ann-token", "Doorbells", simclient.NewWebhook{URL: nobody, Event: "room_message"})
	require.NoError(t, err)

	const posts = 6
	for i := 0; i < posts; i++ {
		_, err := hc.PostMessage(ctx, "ann-token", "Doorbells", "deploy "+strconv.Itoa(i))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		all, err := hc.WebhookCalls(ctx)
		return err == nil && len(all) == 3*posts
	}, 10*time.Second, 5*time.Millisecond)
	require.EqualValues(t, posts, goneCalls.Load(), "every event calls the gone receiver again")

	hooks, err := hc.ListWebhooks(ctx, "ann-token", "Doorbells")
	require.NoError(t, err)
	require.Len(t, hooks, 3, "failing webhooks stay registered")

	for _, tc := range []struct {
		filter  simclient.WebhookCallFilter
		want    int
		webhook int // every call returned is this webhook's; 0: not checked
		status  int // every call returned has this status; -1: not checked
	}{
		{simclient.WebhookCallFilter{Status: "404"}, posts, goneID, 404},
		{simclient.WebhookCallFilter{Status: "4xx"}, posts, goneID, 404},
		{simclient.WebhookCallFilter{Status: "2xx"}, posts, healthyID, 204},
		{simclient.WebhookCallFilter{Status: "0"}, posts, nobodyID, 0},
		{simclient.WebhookCallFilter{Status: "0,4XX"}, 2 * posts, 0, -1},
		{simclient.WebhookCallFilter{Status: "5xx"}, 0, 0, -1},
		{simclient.WebhookCallFilter{WebhookID: goneID}, posts, goneID, 404},
		{simclient.WebhookCallFilter{WebhookID: healthyID, Status: "404"}, 0, 0, -1},
		{simclient.WebhookCallFilter{}, 3 * posts, 0, -1},
	} {
		calls, err := hc.WebhookCallsMatching(ctx, tc.filter)
		require.NoError(t, err, "%+v", tc.filter)
		require.Len(t, calls, tc.want, "%+v", tc.filter)
		for i, c := range calls {
			if tc.webhook != 0 {
				require.Equal(t, tc.webhook, c.WebhookID, "%+v", tc.filter)
			}
			if tc.status >= 0 {
				require.Equal(t, tc.status, c.Status, "%+v", tc.filter)
			}
			if i > 0 {
				require.Greater(t, c.Seq, calls[i-1].Seq, "oldest first")
			}
		}
	}

	for query, field := range map[string]string{
		"status=40":           "status",
		"status=600":          "status",
		"status=6xx":          "status",
		"status=404,nope":     "status",
		"webhook_id=0":        "webhook_id",
		"webhook_id=doorbell": "webhook_id",
	} {
		r := s.with(t).must(http.StatusBadRequest, "GET", "/_sim/webhooks?"+query, "", nil)
		require.Equal(t, field, r.json(t)["error"].(map[string]any)["field"], query)
	}
}
