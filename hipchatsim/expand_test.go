package hipchatsim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExpandEveryPath: expand (spec §1.7) replaces any entity with links.self that its dotted path
// ends at by the full object, on every GET, history included.
func TestExpandEveryPath(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	s.must(201, "POST", "/v2/room/General/webhook", s.admin, map[string]any{"url": "http://127.0.0.1:1/h", "event": "room_enter"})
	ann := "ann-personal-token"
	isFullUser := func(v any) bool {
		m, _ := v.(map[string]any)
		_, ok := m["xmpp_jid"]
		_, email := m["email"]
		return ok && email
	}
	isFullRoom := func(v any) bool {
		m, _ := v.(map[string]any)
		_, ok := m["xmpp_jid"]
		_, topic := m["topic"]
		return ok && topic
	}
	first := func(body map[string]any, key string) any { return body["items"].([]any)[0].(map[string]any)[key] }
	for _, tc := range []struct {
		name, path string
		check      func(body map[string]any) bool
	}{
		{"room owner", "/v2/room/General?expand=owner", func(b map[string]any) bool { return isFullUser(b["owner"]) }},
		{"room statistics", "/v2/room/General?expand=statistics", func(b map[string]any) bool {
			_, ok := b["statistics"].(map[string]any)["messages_sent"]
			return ok
		}},
		{"room participants", "/v2/room/General?expand=participants", func(b map[string]any) bool {
			return isFullUser(b["participants"].([]any)[0])
		}},
		{"two paths at once", "/v2/room/General?expand=owner,statistics", func(b map[string]any) bool {
			_, ok := b["statistics"].(map[string]any)["messages_sent"]
			return ok && isFullUser(b["owner"])
		}},
		{"room list items", "/v2/room?expand=items", func(b map[string]any) bool { return isFullRoom(b["items"].([]any)[0]) }},
		{"room list items.owner", "/v2/room?expand=items.owner", func(b map[string]any) bool { return isFullUser(first(b, "owner")) }},
		{"user list items", "/v2/user?expand=items", func(b map[string]any) bool { return isFullUser(b["items"].([]any)[0]) }},
		{"participants items", "/v2/room/General/participant?expand=items", func(b map[string]any) bool { return isFullUser(b["items"].([]any)[0]) }},
		{"members items", "/v2/room/Ops%20Private/member?expand=items", func(b map[string]any) bool { return isFullUser(b["items"].([]any)[0]) }},
		{"history items.from", "/v2/room/General/history?expand=items.from", func(b map[string]any) bool { return isFullUser(first(b, "from")) }},
		{"latest items.mentions", "/v2/room/General/history/latest?expand=items.mentions", func(b map[string]any) bool {
			return isFullUser(first(b, "mentions").([]any)[0])
		}},
		{"message from", "/v2/room/General/history/1e9e3b67-f09a-4c6f-919c-90a91ebc9448?expand=message.from", func(b map[string]any) bool {
			return isFullUser(b["message"].(map[string]any)["from"])
		}},
		{"webhook items.creator", "/v2/room/General/webhook?expand=items.creator", func(b map[string]any) bool { return isFullUser(first(b, "creator")) }},
		{"webhook items.room", "/v2/room/General/webhook?expand=items.room", func(b map[string]any) bool { return isFullRoom(first(b, "room")) }},
		{"emoticon items", "/v2/emoticon?max-results=2&expand=items", func(b map[string]any) bool {
			_, ok := b["items"].([]any)[0].(map[string]any)["audio_path"]
			return ok
		}},
		{"session owner", "/v2/oauth/token/" + ann + "?expand=owner", func(b map[string]any) bool { return isFullUser(b["owner"]) }},
		{"a path that names nothing is ignored", "/v2/room/General?expand=nothing.here", func(b map[string]any) bool { return b["name"] == "General" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).must(200, "GET", tc.path, s.admin, nil)
			var body map[string]any
			require.NoError(t, json.Unmarshal(r.body, &body))
			require.True(t, tc.check(body), "%s", r.body)
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
		})
	}
	// errors pass through unexpanded
	r := s.must(404, "GET", "/v2/room/Nowhere?expand=owner", s.admin, nil)
	require.Contains(t, r.errorMessage(t), "not found")
}
