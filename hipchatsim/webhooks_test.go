package hipchatsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

const (
	pushClientID     = "push-addon"
	pushClientSecret = "push-addon-secret"
)

// receivedCall is one webhook call a receiver saw.
type receivedCall struct {
	payload       simclient.WebhookPayload
	item          map[string]any
	header, query string // the JWT as the Authorization header and as signed_request
}

// receiver is a real HTTP server that records webhook calls and answers a room_message saying
// "ping" with a notification, as an add-on could.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []receivedCall
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var call receivedCall
		if err := json.Unmarshal(body, &call.payload); err != nil {
			t.Errorf("webhook body is not a payload: %v\n%s", err, body)
		}
		json.Unmarshal(call.payload.Item, &call.item)
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "JWT ") {
			call.header = strings.TrimPrefix(h, "JWT ")
		}
		call.query = r.URL.Query().Get("signed_request")
		rc.mu.Lock()
		rc.calls = append(rc.calls, call)
		rc.mu.Unlock()
		if msg, _ := call.item["message"].(map[string]any); call.payload.Event == "room_message" && msg["message"] == "ping" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"message":"pong","message_format":"text","color":"purple"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []receivedCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCall(nil), rc.calls...)
}

func (rc *receiver) byEvent() map[string][]receivedCall {
	out := map[string][]receivedCall{}
	for _, c := range rc.received() {
		out[c.payload.Event] = append(out[c.payload.Event], c)
	}
	return out
}

// newPushSim is an emulator with users Ann and Bob and an add-on that may register jwt webhooks.
func newPushSim(t *testing.T, edit ...func(*Options)) (*sim, *simclient.Client) {
	fixtures := &Fixtures{
		Users: []FixtureUser{
			{Name: "Ann Lee", Email: "ann@example.com", MentionName: "ann", Tokens: []FixtureToken{{Token: "ann-token"}}},
			{Name: "Bob Ray", Email: "bob@example.com", MentionName: "bob", Tokens: []FixtureToken{{Token: "bob-token"}}},
		},
		Addons: []FixtureAddon{{ClientID: pushClientID, ClientSecret: pushClientSecret, Name: "Push Add-on"}},
	}
	s := newSim(t, append([]func(*Options){func(o *Options) { o.Fixtures = fixtures }}, edit...)...)
	t.Cleanup(func() { s.srv.Close() })
	return s, simclient.New(s.ts.URL)
}

// TestWebhooksFireForEveryEvent registers a jwt webhook for each room event with an add-on token,
// makes each event happen through the HipChat API, and checks what the receiver got: HipChat's
// payload shape, the JWT (verified both ways it travels), a pattern filter, and a room_message
// receiver's reply posted to the room.
func TestWebhooksFireForEveryEvent(t *testing.T) {
	s, hc := newPushSim(t)
	ctx := context.Background()
	rc := newReceiver(t)
	addon, err := hc.AddonToken(ctx, pushClientID, pushClientSecret, "")
	require.NoError(t, err)
	roomID, err := hc.CreateRoom(ctx, "ann-token", "Ops", "private")
	require.NoError(t, err)
	room := strconv.Itoa(roomID)
	require.NoError(t, hc.AddMember(ctx, "ann-token", room, "@bob"))

	events := []string{"room_message", "room_notification", "room_file_upload", "room_topic_change", "room_enter",
		"room_exit", "room_archived", "room_unarchived", "room_deleted"}
	hookIDs := map[string]int{}
	for _, event := range events {
		id, err := hc.CreateWebhook(ctx, addon, room, simclient.NewWebhook{URL: rc.URL + "/hook?event=" + event,
			Event: event, Name: event, Authentication: "jwt"})
		require.NoError(t, err, event)
		hookIDs[event] = id
	}
	patternID, err := hc.CreateWebhook(ctx, "ann-token", room, simclient.NewWebhook{URL: rc.URL + "/deploys",
		Event: "room_message", Pattern: "^deploy", Name: "deploys"})
	require.NoError(t, err)

	listed, err := hc.ListWebhooks(ctx, "ann-token", room)
	require.NoError(t, err)
	require.Len(t, listed, len(events)+1)
	last := listed[len(listed)-1]
	require.Equal(t, simclient.Webhook{ID: patternID, URL: rc.URL + "/deploys", Event: "room_message", Pattern: "^deploy",
		Name: "deploys", Authentication: "none", Links: last.Links}, last)

	// The reply to "ping" must be in the room before it is archived.
	_, err = hc.PostMessage(ctx, "bob-token", room, "ping") // bob enters (room_enter), then room_message
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		h := s.history(s.admin, "/v2/room/"+room+"/history/latest")
		for _, it := range h.Items {
			if it.Type == "notification" && it.Message != nil && *it.Message == "pong" && string(it.From) == `"Push Add-on"` {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "the receiver's reply is not in the room")
	_, err = hc.PostMessage(ctx, "ann-token", room, "deploy done")
	require.NoError(t, err)
	require.NoError(t, hc.Notify(ctx, "ann-token", room, "CI", "build green"))
	require.NoError(t, hc.ShareFile(ctx, "ann-token", room, "notes.txt", "text/plain", []byte("hello"), "notes"))
	require.NoError(t, hc.SetTopic(ctx, "ann-token", room, "Deploys only"))
	require.NoError(t, hc.RemoveMember(ctx, "ann-token", room, "@bob"))
	require.NoError(t, hc.ArchiveRoom(ctx, "ann-token", room))
	require.NoError(t, hc.UnarchiveRoom(ctx, "ann-token", room))
	require.NoError(t, hc.DeleteRoom(ctx, "ann-token", room))

	want := map[string]int{"room_message": 3, "room_notification": 2, "room_file_upload": 1, "room_topic_change": 1,
		"room_enter": 1, "room_exit": 1, "room_archived": 1, "room_unarchived": 1, "room_deleted": 1}
	total := 0
	for _, n := range want {
		total += n
	}
	require.Eventually(t, func() bool { return len(rc.received()) >= total }, 10*time.Second, 5*time.Millisecond)
	got := rc.byEvent()
	for event, n := range want {
		require.Len(t, got[event], n, event)
	}
	require.Len(t, rc.received(), total)

	roomKeys := []string{"id", "is_archived", "links", "name", "privacy", "version"}
	for event, calls := range got {
		for _, c := range calls {
			t.Run(event, func(t *testing.T) {
				item := c.item
				r := item["room"].(map[string]any)
				require.ElementsMatch(t, roomKeys, keys(r))
				require.Equal(t, float64(roomID), r["id"])
				require.Equal(t, "Ops", r["name"])
				require.Equal(t, s.ts.URL+"/v2/room/"+room+"/member", r["links"].(map[string]any)["members"])
				if c.payload.WebhookID == patternID {
					require.Empty(t, c.payload.OAuthClientID)
					require.Empty(t, c.header)
					require.Empty(t, c.query)
					require.Equal(t, "deploy done", item["message"].(map[string]any)["message"])
					return
				}
				require.Equal(t, hookIDs[event], c.payload.WebhookID)
				require.Equal(t, pushClientID, c.payload.OAuthClientID)
				require.NotEmpty(t, c.header, "Authorization: JWT")
				require.Equal(t, c.header, c.query, "signed_request")
				claims := jwt.MapClaims{}
				_, err := jwt.ParseWithClaims(c.header, claims, func(*jwt.Token) (any, error) { return []byte(pushClientSecret), nil },
					jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.clock.Now), jwt.WithIssuer(pushClientID),
					jwt.WithIssuedAt(), jwt.WithExpirationRequired())
				require.NoError(t, err)
				require.Equal(t, float64(roomID), claims["context"].(map[string]any)["room_id"])

				switch event {
				case "room_message", "room_notification", "room_file_upload":
					require.ElementsMatch(t, []string{"message", "room"}, keys(item))
					msg := item["message"].(map[string]any)
					require.NotEmpty(t, msg["id"])
					require.NotEmpty(t, msg["date"])
					require.Contains(t, msg, "mentions")
					switch event {
					case "room_message":
						require.Equal(t, "message", msg["type"])
						require.ElementsMatch(t, []string{"id", "links", "mention_name", "name", "version"}, keys(msg["from"].(map[string]any)))
					case "room_notification":
						require.Equal(t, "notification", msg["type"])
						require.IsType(t, "", msg["from"]) // a notification's from is a label
					case "room_file_upload":
						require.Equal(t, "notes.txt", msg["file"].(map[string]any)["name"])
						require.Equal(t, float64(5), msg["file"].(map[string]any)["size"])
					}
				case "room_topic_change":
					require.ElementsMatch(t, []string{"room", "sender", "topic"}, keys(item))
					require.Equal(t, "Deploys only", item["topic"])
					require.Equal(t, "ann", item["sender"].(map[string]any)["mention_name"])
				case "room_enter", "room_exit":
					require.ElementsMatch(t, []string{"room", "sender"}, keys(item))
					require.Equal(t, "bob", item["sender"].(map[string]any)["mention_name"])
				case "room_archived":
					require.Equal(t, true, r["is_archived"])
					require.Equal(t, "ann", item["sender"].(map[string]any)["mention_name"])
				case "room_unarchived", "room_deleted":
					require.Equal(t, false, r["is_archived"])
					require.Equal(t, "ann", item["sender"].(map[string]any)["mention_name"])
				}
			})
		}
	}

	var messages []string
	for _, c := range got["room_message"] {
		messages = append(messages, c.item["message"].(map[string]any)["message"].(string))
	}
	require.ElementsMatch(t, []string{"ping", "deploy done", "deploy done"}, messages, "the pattern webhook saw only the deploy")

	// A call is logged once its answer is read, just after the receiver saw it.
	var log []simclient.WebhookCall
	require.Eventually(t, func() bool {
		log, err = hc.WebhookCalls(ctx)
		return err == nil && len(log) >= total
	}, 10*time.Second, 5*time.Millisecond)
	require.Len(t, log, total)
	for _, entry := range log {
		require.False(t, entry.Dropped)
		require.Equal(t, roomID, entry.RoomID)
		require.Empty(t, entry.Error, "%+v", entry)
		if entry.Event == "room_message" && entry.WebhookID == hookIDs["room_message"] {
			require.Contains(t, []int{200, 204}, entry.Status)
		} else {
			require.Equal(t, http.StatusNoContent, entry.Status)
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWebhookDropRate: with webhook_drop_rate 0.5 about half the calls are not made, and
// /_sim/webhooks names exactly the ones that were not.
func TestWebhookDropRate(t *testing.T) {
	s, hc := newPushSim(t, func(o *Options) { o.webhookSeed = 15 })
	ctx := context.Background()
	rc := newReceiver(t)
	_, err := hc.CreateRoom(ctx, "ann-token", "Busy", "public")
	require.NoError(t, err)
	_, err = hc.CreateWebhook(ctx, "ann-token", "Busy", simclient.NewWebhook{URL: rc.URL, Event: "room_message"})
	require.NoError(t, err)
	require.NoError(t, hc.InjectWebhookFault(ctx, simclient.WebhookFault{DropRate: 0.5}))
	const sent = 200
	for i := 0; i < sent; i++ {
		_, err := hc.PostMessage(ctx, "ann-token", "Busy", "message "+strconv.Itoa(i))
		require.NoError(t, err)
	}
	var log []simclient.WebhookCall
	require.Eventually(t, func() bool {
		log, err = hc.WebhookCalls(ctx)
		return err == nil && len(log) == sent
	}, 10*time.Second, 5*time.Millisecond)
	dropped := 0
	for _, e := range log {
		if e.Dropped {
			dropped++
			require.Zero(t, e.Status)
		} else {
			require.Equal(t, http.StatusNoContent, e.Status)
		}
	}
	require.InDelta(t, sent/2, dropped, sent/5, "dropped %d of %d", dropped, sent)
	require.Len(t, rc.received(), sent-dropped)

	require.NoError(t, hc.ClearFaults(ctx))
	_, err = hc.PostMessage(ctx, "ann-token", "Busy", "after the fault")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rc.received()) == sent-dropped+1 }, 10*time.Second, 5*time.Millisecond)
	_ = s
}

// TestWebhookValidation: bad registrations and bad webhook faults are 400s naming the field.
func TestWebhookValidation(t *testing.T) {
	s, hc := newPushSim(t)
	addon, err := hc.AddonToken(context.Background(), pushClientID, pushClientSecret, "")
	require.NoError(t, err)
	s.createRoom(s.admin, "General", "public")
	for _, tc := range []struct {
		name, token string
		body        map[string]any
		field       string
	}{
		{"relative url", s.admin, map[string]any{"url": "/hook", "event": "room_message"}, "url"},
		{"not http", s.admin, map[string]any{"url": "ftp://127.0.0.1/hook", "event": "room_message"}, "url"},
		{"link-local IPv4", s.admin, map[string]any{"url": "http://169.254.169.254/latest/meta-data", "event": "room_message"}, "url"},
		{"link-local IPv6", s.admin, map[string]any{"url": "http://[fe80::1]:8080/hook", "event": "room_message"}, "url"},
		{"unknown event", s.admin, map[string]any{"url": "http://127.0.0.1/hook", "event": "room_party"}, "event"},
		{"bad pattern", s.admin, map[string]any{"url": "http://127.0.0.1/hook", "event": "room_message", "pattern": "(["}, "pattern"},
		{"pattern on another event", s.admin, map[string]any{"url": "http://127.0.0.1/hook", "event": "room_enter", "pattern": "x"}, "pattern"},
		{"jwt needs an add-on", s.admin, map[string]any{"url": "http://127.0.0.1/hook", "event": "room_message", "authentication": "jwt"}, "authentication"},
		{"unknown authentication", addon, map[string]any{"url": "http://127.0.0.1/hook", "event": "room_message", "authentication": "basic"}, "authentication"},
		{"key too long", s.admin, map[string]any{"url": "http://127.0.0.1/hook", "event": "room_message", "key": strings.Repeat("k", 41)}, "key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).must(http.StatusBadRequest, "POST", "/v2/room/General/webhook", tc.token, tc.body)
			require.Equal(t, tc.field, r.json(t)["error"].(map[string]any)["field"], string(r.body))
		})
	}
	for body, field := range map[string]string{
		`{"webhook_drop_rate":1.5}`:  "webhook_drop_rate",
		`{"webhook_drop_rate":"x"}`:  "webhook_drop_rate",
		`{"webhook_delay_ms":-1}`:    "webhook_delay_ms",
		`{"webhook_delay_ms":70000}`: "webhook_delay_ms",
	} {
		r := s.with(t).must(http.StatusBadRequest, "POST", "/_sim/faults", "", body)
		require.Equal(t, field, r.json(t)["error"].(map[string]any)["field"], body)
	}
	s.must(http.StatusNoContent, "POST", "/_sim/faults", "", `{"webhook_delay_ms":1}`)
	s.must(http.StatusNoContent, "DELETE", "/_sim/faults", "", nil)
}

// TestOutboundGuard: the dialer refuses link-local, multicast and unspecified addresses whatever
// name led to them, and allows loopback and private ones.
func TestOutboundGuard(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80": false, "[::1]:80": false, "10.1.2.3:443": false, "192.168.0.10:8080": false,
		"169.254.169.254:80": true, "[fe80::1]:80": true, "224.0.0.1:80": true, "0.0.0.0:80": true, "[::]:80": true,
		"[::ffff:169.254.1.1]:80": true,
	} {
		err := guardDial("tcp", addr, nil)
		require.Equal(t, refused, err != nil, addr)
	}
}
