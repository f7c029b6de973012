package hipchatsim

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuthentication(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		header     string // raw Authorization header instead of Bearer token
		wantStatus int
		wantMsg    string
	}{
		{"no token", "GET", "/v2/room", "", "", 401, "Authenticated requests only. See http://www.hipchat.com/docs/apiv2/auth for more information."},
		{"unknown token", "GET", "/v2/room", "nope", "", 401, "Invalid OAuth session"},
		{"basic scheme is no token", "GET", "/v2/room", "", "Basic YTpi", 401, "Invalid OAuth session"},
		{"bearer is case-insensitive", "GET", "/v2/room", "", "bearer " + testAdminToken, 200, ""},
		{"auth_token query", "GET", "/v2/room?auth_token=" + testAdminToken, "", "", 200, ""},
		{"wrong scope lists the scopes", "GET", "/v2/room/General/history", "", "Bearer general-notify-token", 403, "This action requires one of the following scopes: [u'view_messages']"},
		{"two scopes", "GET", "/v2/room/1", "", "Bearer general-notify-token", 403, "This action requires one of the following scopes: [u'view_group', u'view_room']"},
		{"read-only token cannot post", "POST", "/v2/room/General/message", "bob-read-only-token", "", 403, "This action requires one of the following scopes: [u'send_message']"},
		{"unknown route", "GET", "/v2/nothing", testAdminToken, "", 404, "Resource not found"},
		{"wrong method", "PATCH", "/v2/room", testAdminToken, "", 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.with(t).do(tt.method, tt.path, "", nil)
			if tt.token != "" || tt.header != "" {
				r = s.with(t).sendWithHeader(tt.method, tt.path, firstNonEmpty(tt.header, "Bearer "+tt.token))
			}
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantMsg != "" {
				e := r.json(t)["error"].(map[string]any)
				if e["message"] != tt.wantMsg || e["code"] != float64(tt.wantStatus) || e["type"] != http.StatusText(tt.wantStatus) {
					t.Errorf("error %v, want message %q", e, tt.wantMsg)
				}
			}
		})
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *sim) sendWithHeader(method, path, authorization string) response {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.ts.URL+path, nil)
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: []byte(b.String())}
}

// mustFixtures loads the emulator's fixtures that the tests of several packages share.
func mustFixtures(t testing.TB) *Fixtures {
	t.Helper()
	f, err := LoadFixtures(filepath.Join("..", "testdata", "hipchatsim", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAuthTestChangesNothing(t *testing.T) {
	s := newSim(t)
	for _, tt := range []struct{ method, path string }{
		{"POST", "/v2/room?auth_test=true"},
		{"DELETE", "/v2/user/1?auth_test=true"},
		{"GET", "/v2/room/Nowhere/history?auth_test=true"},
		{"PUT", "/v2/room/1?auth_test=true"},
	} {
		r := s.do(tt.method, tt.path, s.admin, `{"name":"Should not exist"}`)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
		}
		want := `{"success":{"code":202,"message":"This auth_token has access to use this method.","type":"Accepted"}}`
		if strings.TrimSpace(string(r.body)) != want {
			t.Errorf("body %s", r.body)
		}
	}
	if p := s.must(200, "GET", "/v2/room", s.admin, nil).json(t); len(p["items"].([]any)) != 0 {
		t.Error("auth_test created a room")
	}
	s.must(200, "GET", "/v2/user/1", s.admin, nil)
	if r := s.do("GET", "/v2/room?auth_test=true", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("auth_test without a token: %d", r.status)
	}
	tok := s.createUserToken("Ann", "ann@example.com", "ann", "view_room")
	if r := s.do("POST", "/v2/room?auth_test=true", tok, nil); r.status != http.StatusForbidden {
		t.Errorf("auth_test with a wrong scope: %d", r.status)
	}
}

// createUserToken makes a user and a password-grant token with the scopes.
func (s *sim) createUserToken(name, email, mention string, scopes ...string) string {
	s.t.Helper()
	s.createUser(name, email, mention)
	return s.userToken(email, mention, scopes...)
}

func TestOAuthGrants(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	form := func(body string, basicUser, basicPass string) response {
		req, _ := http.NewRequest("POST", s.ts.URL+"/v2/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicUser != "" {
			req.SetBasicAuth(basicUser, basicPass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return response{status: resp.StatusCode, header: resp.Header, body: []byte(b.String())}
	}
	t.Run("password", func(t *testing.T) {
		r := form("grant_type=password&username=ann@example.com&password=ann-password&scope=send_message+view_messages", "", "")
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		m := r.json(t)
		if m["token_type"] != "bearer" || m["scope"] != "send_message view_messages" || m["expires_in"] != float64(neverExpiresIn) || m["group_id"] != float64(1) {
			t.Errorf("answer %v", m)
		}
		tok := m["access_token"].(string)
		s.must(http.StatusCreated, "POST", "/v2/room/General/message", tok, map[string]any{"message": "as Ann"})
		if r := s.do("GET", "/v2/room", tok, nil); r.status != 403 {
			t.Errorf("scope not enforced: %d", r.status)
		}
	})
	t.Run("password by @mention and basic auth", func(t *testing.T) {
		if r := form("grant_type=password", "@ann", "ann-password"); r.status != 200 {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		if r := form("grant_type=password&username=ann@example.com&password=nope", "", ""); r.status != 401 {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("user without password", func(t *testing.T) {
		if r := form("grant_type=password&username=bob@example.com&password=", "", ""); r.status != 401 {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("personal with credentials", func(t *testing.T) {
		r := form("grant_type=personal&username=ann@example.com&password=ann-password", "", "")
		if r.status != 200 || r.json(t)["scope"] != strings.Join(scopeNames, " ") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("personal minted by the group admin", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.ts.URL+"/v2/oauth/token", strings.NewReader(`{"grant_type":"personal","user_id":"@BobRay","scope":["view_group"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", err, resp.Status)
		}
		resp.Body.Close()
		if r := form("grant_type=personal&user_id=@BobRay", "", ""); r.status != 401 {
			t.Errorf("minting without an admin: %d", r.status)
		}
	})
	t.Run("client credentials", func(t *testing.T) {
		r := form("grant_type=client_credentials&scope=send_notification", "ci-addon", "ci-secret")
		if r.status != 200 || r.json(t)["expires_in"] != float64(8*3600) {
			t.Fatalf("%d %s", r.status, r.body)
		}
		tok := r.json(t)["access_token"].(string)
		s.must(http.StatusNoContent, "POST", "/v2/room/General/notification", tok, map[string]any{"message": "build ok"})
		if r := s.do("POST", "/v2/room/General/message", tok, map[string]any{"message": "x"}); r.status != 403 {
			t.Errorf("add-on token may not send_message: %d", r.status)
		}
		s.clock.Advance(8 * time.Hour)
		if r := s.do("POST", "/v2/room/General/notification", tok, map[string]any{"message": "late"}); r.status != 401 {
			t.Errorf("add-on token alive after 8 h: %d", r.status)
		}
	})
	t.Run("client credentials errors", func(t *testing.T) {
		if r := form("grant_type=client_credentials", "ci-addon", "wrong"); r.status != 401 {
			t.Errorf("wrong secret: %d", r.status)
		}
		if r := form("grant_type=client_credentials&scope=admin_group", "ci-addon", "ci-secret"); r.status != 400 {
			t.Errorf("scope beyond the add-on's: %d", r.status)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		if r := form("grant_type=magic", "", ""); r.status != 400 {
			t.Errorf("unknown grant: %d", r.status)
		}
		if r := form("username=x", "", ""); r.status != 400 {
			t.Errorf("no grant: %d", r.status)
		}
		if r := form("grant_type=password&username=ann@example.com&password=ann-password&scope=fly", "", ""); r.status != 400 {
			t.Errorf("unknown scope: %d", r.status)
		}
		if r := s.do("POST", "/v2/oauth/token", "", "{"); r.status != 400 {
			t.Errorf("bad JSON: %d", r.status)
		}
		r := s.send("POST", "/v2/oauth/token", "", "text/plain", strings.NewReader("grant_type=password"))
		if r.status != 400 || r.errorMessage(t) != "Invalid content type" {
			t.Errorf("text/plain: %d %s", r.status, r.body)
		}
	})
}

func TestSessions(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	ann := "ann-personal-token"
	r := s.must(200, "GET", "/v2/oauth/token/"+ann, ann, nil)
	m := r.json(t)
	if m["access_token"] != ann || m["owner"].(map[string]any)["mention_name"] != "ann" || len(m["scopes"].([]any)) != len(scopeNames) {
		t.Errorf("session %s", r.body)
	}
	if r := s.do("GET", "/v2/oauth/token/"+ann, "bob-read-only-token", nil); r.status != 403 {
		t.Errorf("reading another's session: %d", r.status)
	}
	s.must(200, "GET", "/v2/oauth/token/bob-read-only-token", s.admin, nil)
	if r := s.do("GET", "/v2/oauth/token/unknown", s.admin, nil); r.status != 404 {
		t.Errorf("unknown session: %d", r.status)
	}
	s.must(204, "DELETE", "/v2/oauth/token/"+ann, ann, nil)
	if r := s.do("GET", "/v2/room", ann, nil); r.status != 401 {
		t.Errorf("deleted session still works: %d", r.status)
	}
}

func TestPrivateRoomVisibility(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	outsider := s.createUserToken("Cy", "cy@example.com", "cy")
	rooms := func(token, query string) []string {
		var names []string
		for _, it := range s.must(200, "GET", "/v2/room"+query, token, nil).json(t)["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		return names
	}
	if got := strings.Join(rooms(outsider, ""), ","); got != "General" {
		t.Errorf("outsider sees %s", got)
	}
	if got := strings.Join(rooms("bob-read-only-token", ""), ","); got != "General,Ops Private" {
		t.Errorf("member sees %s", got)
	}
	if got := strings.Join(rooms(s.admin, "?include-archived=true"), ","); got != "General,Ops Private,Old Stuff" {
		t.Errorf("admin sees %s", got)
	}
	if got := strings.Join(rooms(s.admin, "?include-private=false"), ","); got != "General" {
		t.Errorf("include-private=false: %s", got)
	}
	if r := s.do("GET", "/v2/room/"+url.PathEscape("Ops Private"), outsider, nil); r.status != 404 {
		t.Errorf("outsider reads a private room: %d", r.status)
	}
	if r := s.do("POST", "/v2/room/General/notification", "general-notify-token", map[string]any{"message": "x"}); r.status != 204 {
		t.Errorf("room token in its room: %d %s", r.status, r.body)
	}
	if r := s.do("POST", "/v2/room/2/notification", "general-notify-token", map[string]any{"message": "x"}); r.status != 404 {
		t.Errorf("room token in another room: %d", r.status)
	}
}
