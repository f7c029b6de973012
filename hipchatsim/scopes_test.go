package hipchatsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// addonToken gets an add-on token for clientID with grant_type=client_credentials; scopes "" asks
// for the client's own.
func (s *sim) addonToken(clientID, secret, scopes string) string {
	s.t.Helper()
	form := "grant_type=client_credentials"
	if scopes != "" {
		form += "&scope=" + strings.ReplaceAll(scopes, " ", "+")
	}
	req, _ := http.NewRequest("POST", s.ts.URL+"/v2/oauth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, body: body}
	if r.status != http.StatusOK {
		s.t.Fatalf("add-on token: %d %s", r.status, r.body)
	}
	return r.json(s.t)["access_token"].(string)
}

// adminFixtures are the shared fixtures plus an add-on that may administer rooms.
func adminFixtures(t *testing.T) *Fixtures {
	f := mustFixtures(t)
	f.Addons = append(f.Addons, FixtureAddon{ClientID: "room-admin-addon", ClientSecret: "room-admin-secret",
		Name: "Room Admin", Scopes: []string{scopeAdminRoom, scopeManageRooms, scopeViewGroup}})
	return f
}

// TestRoomAdministrationScopes: each room-administration route takes the scopes HipChat's API
// reference and scopes page name (update: admin_room or manage_rooms; delete: manage_rooms; topic,
// members, webhooks: admin_room; invite: admin_room and users only), and a token without them gets
// HipChat's 403 naming exactly those scopes.
func TestRoomAdministrationScopes(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = adminFixtures(t) })
	adminRoom := s.createUserToken("Ada Admin", "ada@example.com", "ada", scopeAdminRoom, scopeViewGroup)
	manageRooms := s.createUserToken("Max Manager", "max@example.com", "max", scopeManageRooms, scopeViewGroup)
	viewer := s.createUserToken("Vic Viewer", "vic@example.com", "vic", scopeViewGroup, scopeViewRoom)
	addon := s.addonToken("room-admin-addon", "room-admin-secret", "")
	s.createRoom(s.admin, "Alpha", "public")
	s.createRoom(s.admin, "Beta", "public")
	s.createRoom(s.admin, "Gamma", "private") // members can be added to private rooms only
	s.must(204, "PUT", "/v2/room/Gamma/member/@ada", s.admin, nil)
	s.must(204, "PUT", "/v2/room/Gamma/member/@max", s.admin, nil)
	needUpdate := "This action requires one of the following scopes: [u'admin_room', u'manage_rooms']"
	needManage := "This action requires one of the following scopes: [u'manage_rooms']"
	needAdmin := "This action requires one of the following scopes: [u'admin_room']"
	usersOnly := "This method is only accessible by users"
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		status                    int
		message                   string
	}{
		{"update with admin_room", adminRoom, "PUT", "/v2/room/Alpha", map[string]any{"topic": "by admin_room"}, 204, ""},
		{"update with manage_rooms", manageRooms, "PUT", "/v2/room/Alpha", map[string]any{"topic": "by manage_rooms"}, 204, ""},
		{"update by an add-on with admin_room", addon, "PUT", "/v2/room/Alpha", map[string]any{"topic": "by an add-on"}, 204, ""},
		{"update without either", viewer, "PUT", "/v2/room/Alpha", map[string]any{"topic": "no"}, 403, needUpdate},
		{"delete with admin_room only", adminRoom, "DELETE", "/v2/room/Beta", nil, 403, needManage},
		{"delete with manage_rooms", manageRooms, "DELETE", "/v2/room/Beta", nil, 204, ""},
		{"topic with admin_room", adminRoom, "PUT", "/v2/room/Alpha/topic", map[string]any{"topic": "t"}, 204, ""},
		{"topic with manage_rooms only", manageRooms, "PUT", "/v2/room/Alpha/topic", map[string]any{"topic": "t"}, 403, needAdmin},
		{"add member with admin_room", adminRoom, "PUT", "/v2/room/Gamma/member/@vic", nil, 204, ""},
		{"add member with manage_rooms only", manageRooms, "PUT", "/v2/room/Gamma/member/@vic", nil, 403, needAdmin},
		{"remove member with manage_rooms only", manageRooms, "DELETE", "/v2/room/Gamma/member/@vic", nil, 403, needAdmin},
		{"remove member with admin_room", adminRoom, "DELETE", "/v2/room/Gamma/member/@vic", nil, 204, ""},
		{"webhooks listed with manage_rooms only", manageRooms, "GET", "/v2/room/Alpha/webhook", nil, 403, needAdmin},
		{"webhook created with manage_rooms only", manageRooms, "POST", "/v2/room/Alpha/webhook",
			map[string]any{"url": "http://127.0.0.1:9/hook", "event": "room_message"}, 403, needAdmin},
		{"webhook created with admin_room", adminRoom, "POST", "/v2/room/Alpha/webhook",
			map[string]any{"url": "http://127.0.0.1:9/hook", "event": "room_message"}, 201, ""},
		{"webhook read with admin_room", adminRoom, "GET", "/v2/room/Alpha/webhook/1", nil, 200, ""},
		{"webhook deleted with manage_rooms only", manageRooms, "DELETE", "/v2/room/Alpha/webhook/1", nil, 403, needAdmin},
		{"webhook deleted with admin_room", adminRoom, "DELETE", "/v2/room/Alpha/webhook/1", nil, 204, ""},
		{"invite by an add-on with admin_room", addon, "POST", "/v2/room/General/invite/@vic", nil, 403, usersOnly},
		{"invite by a user with admin_room", adminRoom, "POST", "/v2/room/General/invite/@vic", nil, 204, ""},
		{"invite with manage_rooms only", manageRooms, "POST", "/v2/room/General/invite/@vic", nil, 403, needAdmin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).do(tc.method, tc.path, tc.token, tc.body)
			if r.status != tc.status {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
			}
			if tc.message == "" {
				return
			}
			e := r.json(t)["error"].(map[string]any)
			if e["message"] != tc.message || e["code"] != float64(403) || e["type"] != "Forbidden" {
				t.Errorf("error %v, want %q", e, tc.message)
			}
		})
	}
	room := s.must(200, "GET", "/v2/room/Alpha", s.admin, nil).json(t)
	if room["topic"] != "t" {
		t.Errorf("topic %v: the last allowed change was the topic route's", room["topic"])
	}
	s.must(404, "GET", "/v2/room/Beta", s.admin, nil)
}
