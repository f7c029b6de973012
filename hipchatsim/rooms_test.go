package hipchatsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRooms(t *testing.T) {
	s := newSim(t)
	for i, name := range []string{"General", "Ops Team", "Secret", "a+b"} {
		privacy := "public"
		if name == "Secret" {
			privacy = "private"
		}
		if id := s.createRoom(s.admin, name, privacy); id != i+1 {
			t.Fatalf("room %q got id %d, want %d (ids increase from 1)", name, id, i+1)
		}
	}
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		check      func(t *testing.T, r response)
	}{
		{"get by id", "GET", "/v2/room/2", nil, 200, wantField("name", "Ops Team")},
		{"get by encoded name", "GET", "/v2/room/Ops%20Team", nil, 200, wantField("id", float64(2))},
		{"name is case-insensitive", "GET", "/v2/room/ops%20team", nil, 200, wantField("id", float64(2))},
		{"plus is not a space", "GET", "/v2/room/Ops+Team", nil, 404, wantError("Room Ops+Team not found")},
		{"a plus in a name", "GET", "/v2/room/a+b", nil, 200, wantField("id", float64(4))},
		{"unknown id", "GET", "/v2/room/99", nil, 404, wantError("Room 99 not found")},
		{"private room has a members link", "GET", "/v2/room/Secret", nil, 200, func(t *testing.T, r response) {
			if r.json(t)["links"].(map[string]any)["members"] == nil {
				t.Error("no links.members")
			}
		}},
		{"duplicate name", "POST", "/v2/room", map[string]any{"name": "general"}, 400, wantError("Another room exists with that name.")},
		{"name too long", "POST", "/v2/room", map[string]any{"name": strings.Repeat("x", 51)}, 400, wantInvalid("name")},
		{"missing name", "POST", "/v2/room", map[string]any{"topic": "x"}, 400, wantError("Required field 'name' is missing")},
		{"bad privacy", "POST", "/v2/room", map[string]any{"name": "X", "privacy": "secret"}, 400, wantInvalid("privacy")},
		{"unknown owner", "POST", "/v2/room", map[string]any{"name": "X", "owner_user_id": "nobody@example.com"}, 400, wantInvalid("owner_user_id")},
		{"invalid JSON", "POST", "/v2/room", "{", 400, wantError("The request body cannot be parsed as valid JSON")},
		{"JSON array", "POST", "/v2/room", "[]", 400, wantError("The request body cannot be parsed as valid JSON")},
		{"name of the wrong type", "POST", "/v2/room", map[string]any{"name": 7}, 400, wantInvalid("name")},
		{"update topic", "PUT", "/v2/room/1/topic", map[string]any{"topic": "Hello"}, 204, nil},
		{"topic too long", "PUT", "/v2/room/1/topic", map[string]any{"topic": strings.Repeat("t", 251)}, 400, wantInvalid("topic")},
		{"statistics", "GET", "/v2/room/1/statistics", nil, 200, wantField("messages_sent", float64(0))},
		{"rename to an existing name", "PUT", "/v2/room/1", map[string]any{"name": "Secret"}, 400, wantInvalid("name")},
		{"update with owner object", "PUT", "/v2/room/1", map[string]any{"owner": map[string]any{"id": 1}, "privacy": "public", "unknown_field": true}, 204, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.with(t).do(tt.method, tt.path, s.admin, tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		r := s.with(t).send("POST", "/v2/room", s.admin, "text/plain", strings.NewReader(`{"name":"X"}`))
		if r.status != 400 || r.errorMessage(t) != "Invalid content type" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("topic appears in the room and its history", func(t *testing.T) {
		room := s.must(200, "GET", "/v2/room/1", s.admin, nil).json(t)
		p := s.with(t).history(s.admin, "/v2/room/1/history/latest")
		if room["topic"] != "Hello" || len(p.Items) != 1 || p.Items[0].Type != "topic" {
			t.Errorf("topic %v, history %+v", room["topic"], p.Items)
		}
	})
}

func wantField(key string, want any) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if got := r.json(t)[key]; got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
}

func wantError(msg string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if got := r.errorMessage(t); got != msg {
			t.Errorf("message %q, want %q", got, msg)
		}
	}
}

func wantInvalid(field string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		e := r.json(t)["error"].(map[string]any)
		if e["field"] != field || e["code"] != float64(400) || e["type"] != "Bad Request" {
			t.Errorf("error %v, want one naming field %s", e, field)
		}
	}
}

func TestListRoomsPagingAndArchive(t *testing.T) {
	s := newSim(t)
	for _, name := range []string{"r1", "r2", "r3", "r4", "r5"} {
		s.createRoom(s.admin, name, "public")
	}
	s.must(204, "PUT", "/v2/room/r2", s.admin, map[string]any{"is_archived": true})
	if r := s.do("POST", "/v2/room/r2/message", s.admin, map[string]any{"message": "x"}); r.status != 400 {
		t.Errorf("posting to an archived room: %d", r.status)
	}
	var names []string
	next := "/v2/room?max-results=2&include-private=true"
	for pages := 0; next != ""; pages++ {
		m := s.must(200, "GET", next, s.admin, nil).json(t)
		for _, it := range m["items"].([]any) {
			item := it.(map[string]any)
			names = append(names, item["name"].(string))
			for _, k := range []string{"id", "is_archived", "links", "name", "privacy", "version"} {
				if _, ok := item[k]; !ok {
					t.Errorf("room item without %s: %v", k, item)
				}
			}
		}
		if m["maxResults"] != float64(2) {
			t.Errorf("maxResults %v", m["maxResults"])
		}
		n, _ := m["links"].(map[string]any)["next"].(string)
		next = strings.TrimPrefix(n, s.ts.URL)
		if next != "" && !strings.Contains(next, "include-private=true") {
			t.Errorf("next lost include-private: %s", next)
		}
	}
	if got := strings.Join(names, ","); got != "r1,r3,r4,r5" {
		t.Errorf("rooms %s", got)
	}
	m := s.must(200, "GET", "/v2/room?include-archived=true&expand=items", s.admin, nil).json(t)
	if items := m["items"].([]any); len(items) != 5 || items[1].(map[string]any)["is_archived"] != true || items[0].(map[string]any)["created"] == nil {
		t.Errorf("include-archived with expand: %v", items)
	}
	s.must(204, "PUT", "/v2/room/r2", s.admin, map[string]any{"is_archived": false})
	s.must(201, "POST", "/v2/room/r2/message", s.admin, map[string]any{"message": "back"})
	s.must(204, "DELETE", "/v2/room/r3", s.admin, nil)
	if r := s.do("GET", "/v2/room/r3", s.admin, nil); r.status != 404 {
		t.Errorf("deleted room: %d", r.status)
	}
	if id := s.createRoom(s.admin, "r3", "public"); id != 6 {
		t.Errorf("a new room after a delete got id %d, want 6", id)
	}
}

func TestMembersAndParticipants(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Public", "public")
	s.createRoom(s.admin, "Private", "private")
	s.createUser("Ann Lee", "ann@example.com", "ann")
	s.createUser("Bob Ray", "bob@example.com", "bob")

	for _, tt := range []struct {
		method, path, msg string
	}{
		{"GET", "/v2/room/Public/member", "Can only list members of private rooms"},
		{"PUT", "/v2/room/Public/member/ann@example.com", "Can only add members to private rooms"},
		{"DELETE", "/v2/room/Public/member/ann@example.com", "Can only remove participants to private rooms"},
	} {
		r := s.do(tt.method, tt.path, s.admin, nil)
		if r.status != 400 || r.errorMessage(t) != tt.msg {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
		}
	}
	s.must(204, "PUT", "/v2/room/Private/member/ann@example.com", s.admin, nil)
	s.must(204, "PUT", "/v2/room/Private/member/ann@example.com", s.admin, nil) // again: idempotent
	s.must(204, "PUT", "/v2/room/Private/member/@bob", s.admin, map[string]any{"room_roles": []string{"room_admin"}})
	if r := s.do("PUT", "/v2/room/Private/member/@bob", s.admin, map[string]any{"room_roles": []string{"boss"}}); r.status != 400 {
		t.Errorf("unknown role: %d", r.status)
	}
	if r := s.do("PUT", "/v2/room/Private/member/nobody@example.com", s.admin, nil); r.status != 404 || r.errorMessage(t) != "User nobody@example.com not found" {
		t.Errorf("unknown user: %d %s", r.status, r.body)
	}
	m := s.must(200, "GET", "/v2/room/Private/member", s.admin, nil).json(t)
	items := m["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("members %v", items)
	}
	bob := items[2].(map[string]any)
	if bob["mention_name"] != "bob" || bob["room_roles"].([]any)[0] != "room_admin" || bob["version"] == nil {
		t.Errorf("member item %v", bob)
	}
	s.must(204, "DELETE", "/v2/room/Private/member/2", s.admin, nil)
	if m := s.must(200, "GET", "/v2/room/Private/member", s.admin, nil).json(t); len(m["items"].([]any)) != 2 {
		t.Errorf("after removing: %v", m["items"])
	}
	// participants: the creator, the invited, and who posts
	s.must(204, "POST", "/v2/room/Public/invite/@ann", s.admin, map[string]any{"reason": "join us"})
	bobToken := s.userToken("bob@example.com", "bob")
	s.post(bobToken, "Public", "hello")
	var names []string
	for _, it := range s.must(200, "GET", "/v2/room/Public/participant", s.admin, nil).json(t)["items"].([]any) {
		names = append(names, it.(map[string]any)["mention_name"].(string))
	}
	if got := strings.Join(names, ","); got != "admin,ann,bob" {
		t.Errorf("participants %s", got)
	}
	if r := s.do("POST", "/v2/room/Private/invite/@ann", s.admin, nil); r.status != 400 {
		t.Errorf("invite to a private room: %d", r.status)
	}
}

func TestWebhooks(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Hooks", "public")
	r := s.must(201, "POST", "/v2/room/Hooks/webhook", s.admin, map[string]any{"url": "https://example.com/hook", "event": "room_message", "pattern": "^/deploy", "name": "deploy"})
	self := r.json(t)["links"].(map[string]any)["self"].(string)
	if r.header.Get("Location") != self || !strings.HasSuffix(self, "/v2/room/1/webhook/1") {
		t.Errorf("self %s, Location %s", self, r.header.Get("Location"))
	}
	for body, field := range map[string]string{
		`{"url":"/relative","event":"room_message"}`:                                  "url",
		`{"url":"https://x.example","event":"room_sneeze"}`:                           "event",
		`{"event":"room_message"}`:                                                    "url",
		`{"url":"https://x.example","event":"room_message","pattern":"("}`:            "pattern",
		`{"url":"https://x.example","event":"room_message","authentication":"basic"}`: "authentication",
	} {
		r := s.do("POST", "/v2/room/Hooks/webhook", s.admin, body)
		if r.status != 400 || r.json(t)["error"].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	if msg := s.do("POST", "/v2/room/Hooks/webhook", s.admin, `{"url":"/relative","event":"room_message"}`).errorMessage(t); msg != "Field url must be an absolute URL" {
		t.Errorf("relative url message %q", msg)
	}
	if m := s.must(200, "GET", "/v2/room/Hooks/webhook", s.admin, nil).json(t); len(m["items"].([]any)) != 1 {
		t.Errorf("list %v", m)
	}
	if m := s.must(200, "GET", "/v2/room/Hooks/webhook/1", s.admin, nil).json(t); m["pattern"] != "^/deploy" || m["event"] != "room_message" {
		t.Errorf("get %v", m)
	}
	s.must(204, "DELETE", "/v2/room/Hooks/webhook/1", s.admin, nil)
	if r := s.do("GET", "/v2/room/Hooks/webhook/1", s.admin, nil); r.status != 404 {
		t.Errorf("deleted webhook: %d", r.status)
	}
}

func TestRoomNameWithSlash(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "a/b", "public")
	s.must(200, "GET", "/v2/room/"+url.PathEscape("a/b"), s.admin, nil)
	if r := s.do("GET", "/v2/room/a/b", s.admin, nil); r.status != http.StatusNotFound {
		t.Errorf("unescaped slash: %d", r.status)
	}
}
