package hipchatsim

import (
	"net/http"
	"strings"
	"testing"
)

// TestOptionalFieldsSentEmpty: clients send optional strings as "" when they mean "not given";
// HipChat accepted that ("password": "" on user create generated a password, on update kept it).
func TestOptionalFieldsSentEmpty(t *testing.T) {
	s := newSim(t)
	s.createUser("Ann Lee", "ann@example.com", "ann")
	s.createRoom(s.admin, "General", "public")
	for _, tc := range []struct {
		name, method, path string
		body               map[string]any
		want               int
		check              func(t *testing.T)
	}{
		{"user create with empty password and mention", "POST", "/v2/user",
			map[string]any{"name": "Bo Day", "email": "bo@example.com", "password": "", "mention_name": "", "timezone": "", "title": ""},
			http.StatusCreated, func(t *testing.T) {
				u := s.with(t).must(200, "GET", "/v2/user/bo@example.com", s.admin, nil).json(t)
				if u["mention_name"] != "BoDay" || u["timezone"] != "UTC" {
					t.Errorf("defaults not applied: %v %v", u["mention_name"], u["timezone"])
				}
				r := s.with(t).send("POST", "/v2/oauth/token", "", "application/x-www-form-urlencoded",
					strings.NewReader("grant_type=password&username=bo@example.com&password="))
				if r.status != http.StatusUnauthorized {
					t.Errorf("an empty password logs in: %d", r.status)
				}
			}},
		{"user update with empty password keeps it", "PUT", "/v2/user/@ann",
			map[string]any{"name": "", "email": "", "mention_name": "", "timezone": "", "password": "", "title": "Lead"},
			http.StatusNoContent, func(t *testing.T) {
				s.with(t).userToken("ann@example.com", "ann") // the old password still works
				u := s.with(t).must(200, "GET", "/v2/user/@ann", s.admin, nil).json(t)
				if u["name"] != "Ann Lee" || u["email"] != "ann@example.com" || u["title"] != "Lead" {
					t.Errorf("user changed: %v", u)
				}
			}},
		{"room create with empty privacy and owner", "POST", "/v2/room",
			map[string]any{"name": "Ops", "privacy": "", "topic": "", "owner_user_id": ""}, http.StatusCreated,
			func(t *testing.T) {
				r := s.with(t).must(200, "GET", "/v2/room/Ops", s.admin, nil).json(t)
				if r["privacy"] != "public" || r["owner"].(map[string]any)["id"].(float64) != 1 {
					t.Errorf("defaults not applied: %v %v", r["privacy"], r["owner"])
				}
			}},
		{"room update with empty name, privacy and owner keeps them", "PUT", "/v2/room/Ops",
			map[string]any{"name": "", "privacy": "", "owner_user_id": "", "topic": "new"}, http.StatusNoContent,
			func(t *testing.T) {
				r := s.with(t).must(200, "GET", "/v2/room/Ops", s.admin, nil).json(t)
				if r["name"] != "Ops" || r["privacy"] != "public" || r["topic"] != "new" {
					t.Errorf("room changed: %v", r)
				}
			}},
		{"notification with empty format and color", "POST", "/v2/room/General/notification",
			map[string]any{"message": "hi", "message_format": "", "color": "", "from": "", "attach_to": ""}, http.StatusNoContent,
			func(t *testing.T) {
				r := s.with(t).must(200, "GET", "/v2/room/General/history/latest", s.admin, nil).json(t)
				items := r["items"].([]any)
				last := items[len(items)-1].(map[string]any)
				if last["color"] != "yellow" || last["message_format"] != "html" {
					t.Errorf("defaults not applied: %v", last)
				}
			}},
		{"webhook with empty authentication, name and key", "POST", "/v2/room/General/webhook",
			map[string]any{"url": "http://127.0.0.1:1/hook", "event": "room_enter", "authentication": "", "name": "", "key": "", "pattern": ""},
			http.StatusCreated, nil},
		{"private message with empty format", "POST", "/v2/user/@ann/message",
			map[string]any{"message": "psst", "message_format": ""}, http.StatusNoContent, nil},
		{"a value that is not empty is still checked", "POST", "/v2/room",
			map[string]any{"name": "Bad", "privacy": "secret"}, http.StatusBadRequest, nil},
		{"required fields stay required", "POST", "/v2/user",
			map[string]any{"name": "", "email": "x@example.com"}, http.StatusBadRequest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.with(t).must(tc.want, tc.method, tc.path, s.admin, tc.body)
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}
