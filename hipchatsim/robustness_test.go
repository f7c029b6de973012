package hipchatsim

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestMalformedInputNeverFails sends bodies of every wrong shape to every endpoint that reads one,
// and odd paths and parameters to the rest: each answer must be a 4xx in HipChat's error shape, never
// a 5xx.
func TestMalformedInputNeverFails(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	writes := []string{
		"POST /v2/room", "PUT /v2/room/General", "PUT /v2/room/General/topic", "PUT /v2/room/Ops%20Private/member/@ann",
		"POST /v2/room/General/invite/@ann", "POST /v2/room/General/message", "POST /v2/room/General/notification",
		"POST /v2/room/General/reply", "POST /v2/room/General/share/link", "POST /v2/room/General/share/file",
		"POST /v2/room/General/webhook", "POST /v2/user", "PUT /v2/user/@ann", "PUT /v2/user/@ann/photo",
		"POST /v2/user/@ann/message", "POST /v2/user/@ann/share/link", "POST /v2/user/@ann/share/file",
		"POST /v2/oauth/token", "POST /_sim/faults",
	}
	bodies := []string{"", "null", "[]", "{", `"text"`, "42", `{"name":[],"message":{},"topic":1,"owner":"x","owner_user_id":[],` +
		`"privacy":false,"room_roles":"room_admin","presence":"away","card":[1],"link":7,"url":null,"event":{},` +
		`"email":true,"photo":1,"parentMessageId":[],"grant_type":{},"status":[],"rate":"x","delay_ms":{}}`,
		`{"is_archived":"yes","color":1,"from":[],"attach_to":{},"notify":"no","room_roles":[1,2],"owner":{"id":{}}}`,
		strings.Repeat("[", 10000)}
	for _, w := range writes {
		method, path, _ := strings.Cut(w, " ")
		for _, body := range bodies {
			for _, ct := range []string{"application/json", "multipart/related; boundary=x", "text/plain", ""} {
				r := s.send(method, path, s.admin, ct, strings.NewReader(body))
				if r.status >= 500 {
					t.Errorf("%s %s (%s) %q: %d %s", method, path, ct, body, r.status, r.body)
				}
			}
		}
	}
	// The add-on UI routes read their body only for add-on tokens.
	addon := s.addonToken("ci-addon", "ci-secret", "")
	glances := append(bodies, `{"glance":[{"key":7,"content":[]}]}`, `{"glance":[null,{"key":"k","content":{"label":[],"status":"x","metadata":1}}]}`,
		`{"glance":[{"key":"k","content":{"label":{"type":1,"value":null},"status":{"type":"icon","value":[]}}}]}`)
	for _, path := range []string{"/v2/addon/ui", "/v2/addon/ui/room/General", "/v2/addon/ui/user/@ann", "/v2/addon/ui/room/General/user/@ann"} {
		for _, body := range glances {
			r := s.send("POST", path, addon, "application/json", strings.NewReader(body))
			if r.status >= 500 || r.status == 204 || r.errorMessage(t) == "" {
				t.Errorf("POST %s %q: %d %s", path, body, r.status, r.body)
			}
		}
	}
	for _, path := range []string{
		"/v2/room/%00", "/v2/room/" + strings.Repeat("x", 5000), "/v2/user/@", "/v2/user/99999999999999999999",
		"/v2/room/99999999999999999999/history", "/v2/room/General/history?date=2018-13-45",
		"/v2/room/General/history?date=2018-01-10&start-index=99999999999", "/v2/room/General/history?timezone=../../etc/passwd",
		"/v2/room/General/history/latest?not-before=%00", "/v2/room?max-results=1e3", "/v2/emoticon/%2F",
		"/v2/user/@ann/photo/%00", "/v2/room/General/webhook/abc", "/v2/oauth/token/%20",
		"/_sim/room/%00/glances", "/_sim/webhooks?status=%00", "/_sim/webhooks?webhook_id=-1&status=4xx",
	} {
		r := s.do("GET", path, s.admin, nil)
		if r.status >= 500 || (r.status != 200 && r.errorMessage(t) == "") {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
}

// TestConcurrentUse drives the emulator from many goroutines for the race detector.
func TestConcurrentUse(t *testing.T) {
	s := newSim(t, func(o *Options) { o.UserRateLimit, o.FloodLimit = 100000, 100000 })
	s.createRoom(s.admin, "Busy", "private")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				switch i % 5 {
				case 0:
					s.do("POST", "/v2/room/Busy/message", s.admin, map[string]any{"message": fmt.Sprintf("g%d i%d", g, i)})
				case 1:
					s.do("GET", "/v2/room/Busy/history/latest?max-results=5", s.admin, nil)
				case 2:
					s.do("POST", "/v2/user", s.admin, map[string]any{"name": fmt.Sprintf("U %d %d", g, i), "email": fmt.Sprintf("u%d-%d@x.y", g, i)})
				case 3:
					s.do("PUT", fmt.Sprintf("/v2/room/Busy/member/u%d-%d@x.y", g, i-1), s.admin, nil)
					s.do("GET", "/v2/room/Busy", s.admin, nil)
				case 4:
					s.do("GET", "/_sim/calls", "", nil)
					s.do("GET", "/v2/room/Busy/history?date=2030-01-01&max-results=3", s.admin, nil)
				}
			}
		}()
	}
	wg.Wait()
	if got := len(s.history(s.admin, "/v2/room/Busy/history/latest").Items); got != 40 {
		t.Errorf("%d messages, want 40", got)
	}
	if got := len(s.must(200, "GET", "/v2/room/Busy/member", s.admin, nil).json(t)["items"].([]any)); got != 41 {
		t.Errorf("%d members, want 41", got)
	}
}
