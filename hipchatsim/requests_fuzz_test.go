package hipchatsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzMethods are the methods the emulator's routes take.
var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE"}

// fuzzPaths are the emulator's routes with {a} and {b} for the fuzzer's path segments.
var fuzzPaths = []string{
	"/v2/oauth/token", "/v2/oauth/token/{a}", "/v2/capabilities", "/v2/emoticon", "/v2/emoticon/{a}",
	"/v2/room", "/v2/room/{a}", "/v2/room/{a}/statistics", "/v2/room/{a}/topic", "/v2/room/{a}/member",
	"/v2/room/{a}/member/{b}", "/v2/room/{a}/participant", "/v2/room/{a}/invite/{b}", "/v2/room/{a}/message",
	"/v2/room/{a}/notification", "/v2/room/{a}/reply", "/v2/room/{a}/share/link", "/v2/room/{a}/share/file",
	"/v2/room/{a}/history", "/v2/room/{a}/history/latest", "/v2/room/{a}/history/{b}", "/v2/room/{a}/webhook",
	"/v2/room/{a}/webhook/{b}", "/v2/user", "/v2/user/{a}", "/v2/user/{a}/photo/{b}", "/v2/user/{a}/photo",
	"/v2/user/{a}/message", "/v2/user/{a}/share/link", "/v2/user/{a}/share/file", "/v2/user/{a}/history/latest",
	"/v2/user/{a}/history/{b}", "/_sim/calls", "/_sim/webhooks", "/_sim/room/{a}/history/{b}", "/_sim/files/{a}/{b}",
	"/{a}",
	// appended, so that the seeds' indexes above keep naming the same routes
	"/v2/addon/ui", "/v2/addon/ui/room/{a}", "/v2/addon/ui/user/{a}", "/v2/addon/ui/room/{a}/user/{b}",
	"/_sim/room/{a}/glances",
}

// fuzzTokens are who calls: the admin, a fixture user, a read-only token, a room token, nobody.
var fuzzTokens = []string{testAdminToken, "ann-personal-token", "bob-read-only-token", "general-notify-token", ""}

// FuzzEmulatorRequests sends fuzzed methods, path segments, queries, bodies and content types to a
// fresh emulator with the test fixtures: it never panics, never answers 5xx (no fault is
// injected), and every 4xx is HipChat's error shape.
func FuzzEmulatorRequests(f *testing.F) {
	fixtures := mustFixtures(f)
	f.Add(uint8(1), uint8(13), uint8(0), "General", "", "", "application/json", []byte(`{"message":"hi @ann"}`))
	f.Add(uint8(1), uint8(14), uint8(3), "General", "", "", "application/json", []byte(`{"message":"<b>x</b>","message_format":"html","color":"purple"}`))
	f.Add(uint8(0), uint8(18), uint8(1), "General", "", "max-results=1001&date=recent&reverse=true", "", []byte(nil))
	f.Add(uint8(0), uint8(19), uint8(1), "1", "", "not-before=x&timezone=Nowhere", "", []byte(nil))
	f.Add(uint8(1), uint8(5), uint8(0), "", "", "", "application/json", []byte(`{"name":"A","privacy":"secret"}`))
	f.Add(uint8(2), uint8(6), uint8(0), "General", "", "", "application/json", []byte(`{"name":"","privacy":"public","is_archived":"no","owner":{"id":"x"}}`))
	f.Add(uint8(1), uint8(21), uint8(0), "General", "", "", "application/json", []byte(`{"url":"http://127.0.0.1:9/","event":"room_message","pattern":"(["}`))
	f.Add(uint8(1), uint8(17), uint8(1), "General", "", "", "multipart/related; boundary=x", []byte("--x\r\nContent-Type: application/json\r\n\r\n{}\r\n--x--"))
	f.Add(uint8(1), uint8(0), uint8(4), "", "", "", "application/x-www-form-urlencoded", []byte("grant_type=password&username=ann@example.com&password=ann-password&scope=nope"))
	f.Add(uint8(1), uint8(23), uint8(0), "", "", "", "application/json", []byte(`{"name":"N","email":"not-an-email","mention_name":"@@"}`))
	f.Add(uint8(0), uint8(25), uint8(0), "1", "big", "expand=items,links", "", []byte(nil))
	f.Add(uint8(3), uint8(1), uint8(0), testAdminToken, "", "", "", []byte(nil))
	f.Add(uint8(0), uint8(36), uint8(4), "..%2f..%2f", "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, who uint8, a, b, query, contentType string, body []byte) {
		srv, err := New(Options{AdminToken: testAdminToken, Fixtures: fixtures})
		if err != nil {
			t.Fatal(err)
		}
		target := strings.NewReplacer("{a}", escapeSegment(a), "{b}", escapeSegment(b)).Replace(fuzzPaths[int(path)%len(fuzzPaths)])
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], "http://sim.test"+target, bytes.NewReader(body))
		if err != nil {
			t.Skip("not a request a client can send:", err)
		}
		if contentType != "" && !strings.ContainsAny(contentType, "\r\n") {
			req.Header.Set("Content-Type", contentType)
		}
		if token := fuzzTokens[int(who)%len(fuzzTokens)]; token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", req.Method, target, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && strings.HasPrefix(target, "/v2/") {
			var shape struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &shape); err != nil || shape.Error.Code != rec.Code || shape.Error.Message == "" {
				t.Fatalf("%s %s: %d without HipChat's error shape: %s", req.Method, target, rec.Code, rec.Body)
			}
		}
	})
}

// escapeSegment escapes s as one path segment, as a client building the URL would.
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~@", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

// FuzzSimFaults: any POST /_sim/faults body is installed or refused with a 400 naming a field; a
// fault is removed before the next input, so none outlives it.
func FuzzSimFaults(f *testing.F) {
	srv, err := New(Options{AdminToken: testAdminToken})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{`{"status":429}`, `{"status":401,"rate":0.5}`, `{"delay_ms":20}`,
		`{"status":500,"token_sha256":"` + strings.Repeat("a", 64) + `"}`, `{"webhook_drop_rate":2}`,
		`{"status":"500"}`, `{"status":503,"rate":-0}`, `{"delay_ms":1e9}`, `[]`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/_sim/faults", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		defer srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/_sim/faults", nil))
		switch {
		case rec.Code == http.StatusNoContent:
			var installed []fault
			if list := srv.faults.Load(); list != nil {
				installed = *list
			}
			for _, ft := range installed {
				if ft.Status != 0 && ft.Status != 401 && ft.Status != 429 && ft.Status != 500 && ft.Status != 503 ||
					ft.Rate < 0 || ft.Rate > 1 || ft.DelayMS < 0 || ft.DelayMS > maxFaultDelay {
					t.Fatalf("installed an invalid fault %+v from %q", ft, body)
				}
			}
		case rec.Code == http.StatusBadRequest:
		default:
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}
