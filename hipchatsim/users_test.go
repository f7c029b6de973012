package hipchatsim

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestUsers(t *testing.T) {
	s := newSim(t)
	if id := s.createUser("Ann Lee", "ann@example.com", "ann"); id != 2 {
		t.Fatalf("first user id %d, want 2 (the admin is 1)", id)
	}
	if id := s.createUser("Bob Ray", "bob@example.com", ""); id != 3 {
		t.Fatalf("second user id %d", id)
	}
	bobToken := s.userToken("bob@example.com", "")
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		check      func(*testing.T, response)
	}{
		{"by id", "GET", "/v2/user/2", nil, 200, wantField("email", "ann@example.com")},
		{"by email", "GET", "/v2/user/ANN@example.com", nil, 200, wantField("id", float64(2))},
		{"by mention", "GET", "/v2/user/@ann", nil, 200, wantField("id", float64(2))},
		{"default mention name", "GET", "/v2/user/@BobRay", nil, 200, wantField("id", float64(3))},
		{"unknown", "GET", "/v2/user/99", nil, 404, wantError("User 99 not found")},
		{"unknown mention", "GET", "/v2/user/@nobody", nil, 404, wantError("User @nobody not found")},
		{"duplicate email", "POST", "/v2/user", map[string]any{"name": "X", "email": "ann@example.com"}, 400, wantInvalid("email")},
		{"duplicate mention", "POST", "/v2/user", map[string]any{"name": "X", "email": "x@example.com", "mention_name": "ann"}, 400, wantInvalid("mention_name")},
		{"missing email", "POST", "/v2/user", map[string]any{"name": "X"}, 400, wantInvalid("email")},
		{"bad email", "POST", "/v2/user", map[string]any{"name": "X", "email": "nope"}, 400, wantInvalid("email")},
		{"bad timezone", "POST", "/v2/user", map[string]any{"name": "X", "email": "x@example.com", "timezone": "Nowhere/City"}, 400, wantInvalid("timezone")},
		{"update", "PUT", "/v2/user/@ann", map[string]any{"title": "Lead", "presence": map[string]any{"show": "dnd", "status": "busy"}}, 204, nil},
		{"updated", "GET", "/v2/user/2", nil, 200, func(t *testing.T, r response) {
			m := r.json(t)
			if m["title"] != "Lead" || m["presence"].(map[string]any)["show"] != "dnd" || m["name"] != "Ann Lee" {
				t.Errorf("user %v", m)
			}
		}},
		{"bad presence", "PUT", "/v2/user/2", map[string]any{"presence": map[string]any{"show": "asleep"}}, 400, wantInvalid("presence.show")},
		{"delete", "DELETE", "/v2/user/bob@example.com", nil, 204, nil},
		{"deleted by email", "GET", "/v2/user/bob@example.com", nil, 404, nil},
		{"deleted by id", "GET", "/v2/user/3", nil, 200, wantField("is_deleted", true)},
		{"the group owner stays", "DELETE", "/v2/user/1", nil, 400, nil},
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
	list := func(q string) int {
		return len(s.must(200, "GET", "/v2/user"+q, s.admin, nil).json(t)["items"].([]any))
	}
	if list("") != 2 || list("?include-deleted=true") != 3 || list("?max-results=1") != 1 {
		t.Errorf("lists: %d %d %d", list(""), list("?include-deleted=true"), list("?max-results=1"))
	}
	full := s.must(200, "GET", "/v2/user?expand=items", s.admin, nil).json(t)["items"].([]any)[0].(map[string]any)
	if full["xmpp_jid"] == nil || full["group"] == nil {
		t.Errorf("expand=items: %v", full)
	}
	if r := s.do("GET", "/v2/room", bobToken, nil); r.status != 401 {
		t.Errorf("a deleted user's token: %d", r.status)
	}
}

func TestUserPhoto(t *testing.T) {
	s := newSim(t)
	if r := s.do("GET", "/v2/user/1/photo/big", s.admin, nil); r.status != 404 {
		t.Errorf("no photo yet: %d", r.status)
	}
	s.must(204, "PUT", "/v2/user/1/photo", s.admin, map[string]any{"photo": base64.StdEncoding.EncodeToString(onePixelPNG)})
	u := s.must(200, "GET", "/v2/user/1", s.admin, nil).json(t)
	photo, _ := u["photo_url"].(string)
	if !strings.HasPrefix(photo, s.ts.URL+"/_sim/files/") {
		t.Fatalf("photo_url %q", photo)
	}
	resp, err := http.Get(photo)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/png" || string(b) != string(onePixelPNG) {
		t.Errorf("photo served as %s, %d bytes", resp.Header.Get("Content-Type"), len(b))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", s.ts.URL+"/v2/user/1/photo/small", nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != photo {
		t.Errorf("photo redirect %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := s.do("GET", "/v2/user/1/photo/huge", s.admin, nil); r.status != 400 {
		t.Errorf("bad size: %d", r.status)
	}
	if r := s.do("PUT", "/v2/user/1/photo", s.admin, map[string]any{"photo": "***"}); r.status != 400 {
		t.Errorf("bad base64: %d", r.status)
	}
	s.must(204, "DELETE", "/v2/user/1/photo", s.admin, nil)
	if u := s.must(200, "GET", "/v2/user/1", s.admin, nil).json(t); u["photo_url"] != nil {
		t.Errorf("photo after delete: %v", u["photo_url"])
	}
}

func TestPrivateChat(t *testing.T) {
	s := newSim(t)
	s.createUser("Ann Lee", "ann@example.com", "ann")
	ann := s.userToken("ann@example.com", "ann")
	s.must(204, "POST", "/v2/user/@admin/message", ann, map[string]any{"message": "psst", "message_format": "text"})
	s.must(204, "POST", "/v2/user/1/share/link", ann, map[string]any{"link": "https://example.com", "message": "look"})
	p := s.history(s.admin, "/v2/user/@ann/history/latest")
	if len(p.Items) != 2 || *p.Items[0].Message != "psst" || *p.Items[1].Message != "look https://example.com" {
		t.Fatalf("chat seen by the admin: %+v", p.Items)
	}
	if q := s.history(ann, "/v2/user/1/history/latest?max-results=1"); len(q.Items) != 1 || q.Items[0].ID != p.Items[1].ID {
		t.Errorf("chat seen by Ann: %+v", q.Items)
	}
	s.must(200, "GET", "/v2/user/1/history/"+p.Items[0].ID, ann, nil)
	if r := s.do("GET", "/v2/user/1/history/latest", "", nil); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if r := s.do("POST", "/v2/user/@nobody/message", ann, map[string]any{"message": "x"}); r.status != 404 {
		t.Errorf("unknown user: %d", r.status)
	}
}

func TestEmoticonsAndCapabilities(t *testing.T) {
	s := newSim(t)
	m := s.must(200, "GET", "/v2/emoticon?max-results=3", s.admin, nil).json(t)
	items := m["items"].([]any)
	if len(items) != 3 || m["links"].(map[string]any)["next"] == nil {
		t.Errorf("emoticons page %v", m)
	}
	if m := s.must(200, "GET", "/v2/emoticon?type=group", s.admin, nil).json(t); len(m["items"].([]any)) != 0 {
		t.Errorf("group emoticons %v", m)
	}
	if r := s.do("GET", "/v2/emoticon?type=odd", s.admin, nil); r.status != 400 {
		t.Errorf("bad type: %d", r.status)
	}
	e := s.must(200, "GET", "/v2/emoticon/allthethings", s.admin, nil).json(t)
	if e["id"] != float64(105216) || e["type"] != "global" {
		t.Errorf("by shortcut: %v", e)
	}
	s.must(200, "GET", "/v2/emoticon/105216", s.admin, nil)
	if r := s.do("GET", "/v2/emoticon/nope", s.admin, nil); r.status != 404 {
		t.Errorf("unknown emoticon: %d", r.status)
	}
	c := s.must(200, "GET", "/v2/capabilities", "", nil).json(t)
	provider := c["capabilities"].(map[string]any)["oauth2Provider"].(map[string]any)
	if provider["tokenUrl"] != s.ts.URL+"/v2/oauth/token" {
		t.Errorf("capabilities %v", c)
	}
}
