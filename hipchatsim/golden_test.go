package hipchatsim

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenHeaders are the response headers a golden file records.
var goldenHeaders = []string{"Allow", "Content-Type", "Location", "X-Ratelimit-Limit", "X-Ratelimit-Remaining",
	"X-Ratelimit-Reset", "X-Floodcontrol-Limit", "X-Floodcontrol-Remaining", "X-Floodcontrol-Reset"}

// TestGolden runs a fixed sequence of requests against the sample fixtures with HipChat's default
// limits, a frozen clock and sequential ids, and compares each whole answer (status, headers, body)
// with testdata/golden/<name>.golden. Run with -update to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	s := newSim(t, func(o *Options) {
		d := DefaultOptions()
		o.UserRateLimit, o.AddonRateLimit, o.FloodLimit = d.UserRateLimit, d.AddonRateLimit, d.FloodLimit
		o.Fixtures = mustFixtures(t)
	})
	ann := "ann-personal-token"
	steps := []struct {
		name, method, path, token string
		body                      any
	}{
		{"capabilities", "GET", "/v2/capabilities", "", nil},
		{"error_no_token", "GET", "/v2/room", "", nil},
		{"error_invalid_token", "GET", "/v2/room", "nope", nil},
		{"error_scope", "GET", "/v2/room/General/history", "general-notify-token", nil},
		{"error_room_not_found", "GET", "/v2/room/Nowhere", s.admin, nil},
		{"error_user_not_found", "GET", "/v2/user/@nobody", s.admin, nil},
		{"error_validation", "POST", "/v2/room/General/message", ann, map[string]any{}},
		{"error_max_results", "GET", "/v2/room?max-results=1001", s.admin, nil},
		{"error_member_public_room", "DELETE", "/v2/room/General/member/@ann", s.admin, nil},
		{"error_method", "PATCH", "/v2/room", s.admin, nil},
		{"auth_test", "DELETE", "/v2/room/General?auth_test=true", s.admin, nil},
		{"room_list", "GET", "/v2/room?max-results=1&include-archived=true", s.admin, nil},
		{"room_get", "GET", "/v2/room/General", s.admin, nil},
		{"room_get_private", "GET", "/v2/room/2", s.admin, nil},
		{"room_create", "POST", "/v2/room", ann, map[string]any{"name": "Design Review", "topic": "Pixels", "privacy": "private"}},
		{"room_statistics", "GET", "/v2/room/General/statistics", s.admin, nil},
		{"room_members", "GET", "/v2/room/Ops%20Private/member", s.admin, nil},
		{"room_participants", "GET", "/v2/room/General/participant", s.admin, nil},
		{"history_latest", "GET", "/v2/room/General/history/latest", s.admin, nil},
		{"history_latest_not_before", "GET", "/v2/room/General/history/latest?max-results=2&not-before=1e9e3b67-f09a-4c6f-919c-90a91ebc9448&timezone=Asia/Tokyo", s.admin, nil},
		{"history_by_date", "GET", "/v2/room/1/history?date=2018-01-10T09:45:00Z&max-results=2&include_deleted=true", s.admin, nil},
		{"history_message", "GET", "/v2/room/1/history/1e9e3b67-f09a-4c6f-919c-90a91ebc9448", s.admin, nil},
		{"message_post", "POST", "/v2/room/General/message", ann, map[string]any{"message": "Hello @BobRay"}},
		{"notification_post", "POST", "/v2/room/General/notification", "general-notify-token", map[string]any{"message": "Build <b>42</b> passed", "color": "green"}},
		{"error_notification_type", "POST", "/v2/room/General/notification", "general-notify-token", map[string]any{"message": "x", "notify": "true"}},
		{"error_card", "POST", "/v2/room/General/notification", "general-notify-token", map[string]any{"message": "x",
			"card": map[string]any{"style": "application", "title": "Build 42", "format": "huge"}}},
		{"webhook_create", "POST", "/v2/room/General/webhook", s.admin, map[string]any{"url": "https://example.com/hook", "event": "room_message", "name": "hook"}},
		{"webhook_list", "GET", "/v2/room/General/webhook", s.admin, nil},
		{"webhook_get", "GET", "/v2/room/General/webhook/1", s.admin, nil},
		{"user_list", "GET", "/v2/user", s.admin, nil},
		{"user_get", "GET", "/v2/user/@ann", s.admin, nil},
		{"user_create", "POST", "/v2/user", s.admin, map[string]any{"name": "Cy Young", "email": "cy@example.com", "password": "pw"}},
		{"emoticon_list", "GET", "/v2/emoticon?max-results=2", s.admin, nil},
		{"emoticon_get", "GET", "/v2/emoticon/yey", s.admin, nil},
		{"session_get", "GET", "/v2/oauth/token/" + ann, ann, nil},
		{"oauth_password", "POST", "/v2/oauth/token", "", map[string]any{"grant_type": "password", "username": "ann@example.com", "password": "ann-password", "scope": "send_message view_messages"}},
		{"sim_calls", "GET", "/_sim/calls", "", nil},
	}
	for _, st := range steps {
		r := s.with(t).do(st.method, st.path, st.token, st.body)
		got := s.goldenText(t, r)
		path := filepath.Join("testdata", "golden", st.name+".golden")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./hipchatsim -run TestGolden -update)", st.name, err)
		}
		if got != string(want) {
			t.Errorf("%s %s differs from %s:\n--- got\n%s\n--- want\n%s", st.method, st.path, path, got, want)
		}
	}
}

// goldenText renders an answer with the server's address replaced by http://hipchat.test and the
// JSON indented with sorted keys.
func (s *sim) goldenText(t *testing.T, r response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", r.status)
	var names []string
	for _, h := range goldenHeaders {
		if r.header.Get(h) != "" {
			names = append(names, h)
		}
	}
	sort.Strings(names)
	for _, h := range names {
		fmt.Fprintf(&b, "%s: %s\n", h, r.header.Get(h))
	}
	b.WriteString("\n")
	body := r.body
	if len(bytes.TrimSpace(body)) > 0 {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("body is not JSON: %s", body)
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		enc.Encode(v)
		body = out.Bytes()
	}
	b.Write(body)
	return strings.ReplaceAll(b.String(), s.ts.URL, "http://hipchat.test")
}
