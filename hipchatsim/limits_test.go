package hipchatsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func sha(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func TestRateLimitWindowRollsOverOnTheInjectedClock(t *testing.T) {
	s := newSim(t, func(o *Options) { o.UserRateLimit = 3 })
	start := s.clock.Now().Truncate(time.Second)
	reset := strconv.FormatInt(start.Add(5*time.Minute).Unix(), 10) + ".0"
	for i := 1; i <= 3; i++ {
		r := s.must(200, "GET", "/v2/room", s.admin, nil)
		if r.header.Get("X-Ratelimit-Limit") != "3" || r.header.Get("X-Ratelimit-Remaining") != strconv.Itoa(3-i) || r.header.Get("X-Ratelimit-Reset") != reset {
			t.Fatalf("call %d headers: %v", i, r.header)
		}
		s.clock.Advance(time.Minute)
	}
	r := s.do("GET", "/v2/room", s.admin, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("X-Ratelimit-Remaining") != "0" || r.header.Get("X-Ratelimit-Reset") != reset {
		t.Fatalf("4th call: %d %v", r.status, r.header)
	}
	if got := string(r.body); got != `{"error":{"code":429,"message":"Rate Limit exceeded","type":"Too Many Requests"}}`+"\n" {
		t.Errorf("429 body %s", got)
	}
	// errors carry the headers too
	if r := s.do("GET", "/v2/room/Nope", s.admin, nil); r.status != 429 || r.header.Get("X-Ratelimit-Limit") != "3" {
		t.Errorf("still limited: %d %v", r.status, r.header)
	}
	s.clock.Set(start.Add(5*time.Minute - time.Nanosecond))
	if r := s.do("GET", "/v2/room", s.admin, nil); r.status != 429 {
		t.Errorf("just before reset: %d", r.status)
	}
	s.clock.Set(start.Add(5 * time.Minute))
	r = s.must(200, "GET", "/v2/room", s.admin, nil)
	if r.header.Get("X-Ratelimit-Remaining") != "2" || r.header.Get("X-Ratelimit-Reset") != strconv.FormatInt(start.Add(10*time.Minute).Unix(), 10)+".0" {
		t.Errorf("new window headers: %v", r.header)
	}
	if r := s.do("GET", "/v2/room/Nope", s.admin, nil); r.status != 404 || r.header.Get("X-Ratelimit-Remaining") != "1" {
		t.Errorf("a 404 counts and carries headers: %d %v", r.status, r.header)
	}
}

func TestRateLimitsPerTokenKind(t *testing.T) {
	s := newSim(t, func(o *Options) {
		o.UserRateLimit, o.AddonRateLimit = 1, 2
		o.Fixtures = mustFixtures(t)
	})
	s.must(200, "GET", "/v2/room", "ann-personal-token", nil)
	if r := s.do("GET", "/v2/room", "ann-personal-token", nil); r.status != 429 {
		t.Errorf("user limit 1: %d", r.status)
	}
	// a separate token has its own budget
	s.must(200, "GET", "/v2/room", "bob-read-only-token", nil)
	req, _ := http.NewRequest("POST", s.ts.URL+"/v2/oauth/token?grant_type=client_credentials", nil)
	req.SetBasicAuth("ci-addon", "ci-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	addon := answer["access_token"].(string)
	for i := 0; i < 2; i++ {
		if r := s.must(200, "GET", "/v2/room", addon, nil); r.header.Get("X-Ratelimit-Limit") != "2" {
			t.Errorf("add-on limit header %v", r.header)
		}
	}
	if r := s.do("GET", "/v2/room", addon, nil); r.status != 429 {
		t.Errorf("add-on limit 2: %d", r.status)
	}
}

func TestNoLimitNoHeaders(t *testing.T) {
	s := newSim(t)
	r := s.must(200, "GET", "/v2/room", s.admin, nil)
	if r.header.Get("X-Ratelimit-Limit") != "" {
		t.Errorf("limit off but headers sent: %v", r.header)
	}
}

func TestFloodControl(t *testing.T) {
	s := newSim(t, func(o *Options) { o.FloodLimit = 2 })
	s.createRoom(s.admin, "A", "public")
	s.createRoom(s.admin, "B", "public")
	ann := s.createUserToken("Ann", "ann@example.com", "ann")
	start := s.clock.Now().Truncate(time.Second)
	reset := strconv.FormatInt(start.Add(time.Minute).Unix(), 10) + ".0"
	for i := 1; i <= 2; i++ {
		r := s.must(201, "POST", "/v2/room/A/message", s.admin, map[string]any{"message": "hi"})
		if r.header.Get("X-FloodControl-Limit") != "2" || r.header.Get("X-FloodControl-Remaining") != strconv.Itoa(2-i) || r.header.Get("X-FloodControl-Reset") != reset {
			t.Fatalf("message %d flood headers %v", i, r.header)
		}
	}
	r := s.do("POST", "/v2/room/A/notification", s.admin, map[string]any{"message": "hi"})
	if r.status != 429 || r.header.Get("X-FloodControl-Remaining") != "0" || r.errorMessage(t) != "Rate Limit exceeded" {
		t.Fatalf("3rd message-sending call: %d %v %s", r.status, r.header, r.body)
	}
	s.must(201, "POST", "/v2/room/B/message", s.admin, map[string]any{"message": "other room"})
	s.must(201, "POST", "/v2/room/A/message", ann, map[string]any{"message": "other sender"})
	if got := len(s.history(s.admin, "/v2/room/A/history/latest").Items); got != 3 {
		t.Errorf("a refused message was stored: %d items", got)
	}
	if r := s.must(200, "GET", "/v2/room/A", s.admin, nil); r.header.Get("X-FloodControl-Limit") != "" {
		t.Error("flood headers on a read")
	}
	s.clock.Set(start.Add(time.Minute))
	s.must(201, "POST", "/v2/room/A/message", s.admin, map[string]any{"message": "next minute"})
}

func TestCallsCountsSlidingWindows(t *testing.T) {
	s := newSim(t, func(o *Options) { o.UserRateLimit = 1000 })
	// 5 calls at t, 5 at t+30s, 5 at t+70s, 5 at t+301s
	for _, offset := range []time.Duration{0, 30 * time.Second, 70 * time.Second, 301 * time.Second} {
		s.clock.Set(newClock().Now().Add(offset))
		for i := 0; i < 5; i++ {
			s.do("GET", "/v2/room/Nope", s.admin, nil) // errors count too
		}
	}
	s.do("GET", "/v2/room", "unknown-token", nil) // unknown tokens are not counted
	r := s.must(200, "GET", "/_sim/calls", "", nil)
	var calls struct {
		Tokens []callStats `json:"tokens"`
	}
	if err := json.Unmarshal(r.body, &calls); err != nil {
		t.Fatal(err)
	}
	want := callStats{TokenSHA256: sha(testAdminToken), Total: 20, MaxInAny60s: 10, MaxInAny300s: 15}
	if len(calls.Tokens) != 1 || calls.Tokens[0] != want {
		t.Errorf("calls %s, want %+v", r.body, want)
	}
}

func TestFaults(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	t.Run("validation", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"status":404}`:                    "status",
			`{"status":"500"}`:                  "status",
			`{}`:                                "status",
			`{"status":500,"rate":1.5}`:         "rate",
			`{"delay_ms":-1}`:                   "delay_ms",
			`{"delay_ms":600000}`:               "delay_ms",
			`{"status":503,"token_sha256":"x"}`: "token_sha256",
		} {
			r := s.with(t).do("POST", "/_sim/faults", "", body)
			if r.status != 400 || r.json(t)["error"].(map[string]any)["field"] != field {
				t.Errorf("%s: %d %s, want 400 naming %s", body, r.status, r.body, field)
			}
		}
		if r := s.with(t).do("POST", "/_sim/faults", "", "{"); r.status != 400 {
			t.Errorf("bad JSON: %d", r.status)
		}
		if r := s.with(t).send("POST", "/_sim/faults", "", "text/plain", nil); r.status != 400 {
			t.Errorf("no body: %d", r.status)
		}
	})
	t.Run("status for one token, rate 1 by default", func(t *testing.T) {
		s := s.with(t)
		s.must(204, "POST", "/_sim/faults", "", map[string]any{"token_sha256": sha("ann-personal-token"), "status": 503})
		r := s.do("GET", "/v2/room", "ann-personal-token", nil)
		if r.status != 503 || r.errorMessage(t) != "Service Unavailable" {
			t.Errorf("faulted token: %d %s", r.status, r.body)
		}
		s.must(200, "GET", "/v2/room", "bob-read-only-token", nil)
		s.must(200, "GET", "/_sim/calls", "", nil) // the side channel is never faulted
		s.must(204, "DELETE", "/_sim/faults", "", nil)
		s.must(200, "GET", "/v2/room", "ann-personal-token", nil)
	})
	t.Run("429 for every token", func(t *testing.T) {
		s := s.with(t)
		s.must(204, "POST", "/_sim/faults", "", map[string]any{"status": 429, "rate": 1})
		r := s.do("GET", "/v2/room", "bob-read-only-token", nil)
		if r.status != 429 || r.errorMessage(t) != "Rate Limit exceeded" {
			t.Errorf("%d %s", r.status, r.body)
		}
		s.must(204, "DELETE", "/_sim/faults", "", nil)
	})
	t.Run("rate 0 never fires", func(t *testing.T) {
		s := s.with(t)
		s.must(204, "POST", "/_sim/faults", "", map[string]any{"status": 500, "rate": 0})
		for i := 0; i < 20; i++ {
			s.must(200, "GET", "/v2/room", "bob-read-only-token", nil)
		}
		s.must(204, "DELETE", "/_sim/faults", "", nil)
	})
	t.Run("delay without status delays every request", func(t *testing.T) {
		s := s.with(t)
		s.must(204, "POST", "/_sim/faults", "", map[string]any{"delay_ms": 30, "rate": 0})
		begin := time.Now()
		s.must(200, "GET", "/v2/room", "bob-read-only-token", nil)
		s.do("GET", "/v2/room", "", nil)
		if elapsed := time.Since(begin); elapsed < 60*time.Millisecond {
			t.Errorf("two delayed requests took %v", elapsed)
		}
		s.must(204, "DELETE", "/_sim/faults", "", nil)
	})
}

// Spec §1.5 [DOC:PAGES rate-limits]: the X-Ratelimit-* headers come on "every" response, and doc.go
// says every request with a known token counts, whatever its answer. A path or method the API does
// not have (a connector's typo, an endpoint the emulator lacks) is still a request of that token:
// it counts, is refused once the budget is spent, and /_sim/calls sees it.
func TestUnroutedRequestsCountAndCarryRateHeaders(t *testing.T) {
	s := newSim(t, func(o *Options) { o.UserRateLimit = 2 })
	r := s.do("GET", "/v2/no-such-endpoint", s.admin, nil)
	if r.status != http.StatusNotFound || r.header.Get("X-Ratelimit-Remaining") != "1" {
		t.Errorf("unknown path: %d, X-Ratelimit-Remaining %q, want 404 and 1", r.status, r.header.Get("X-Ratelimit-Remaining"))
	}
	r = s.do("PATCH", "/v2/room", s.admin, nil)
	if r.status != http.StatusMethodNotAllowed || r.header.Get("X-Ratelimit-Remaining") != "0" {
		t.Errorf("wrong method: %d, X-Ratelimit-Remaining %q, want 405 and 0", r.status, r.header.Get("X-Ratelimit-Remaining"))
	}
	if r := s.do("GET", "/v2/no-such-endpoint", s.admin, nil); r.status != http.StatusTooManyRequests {
		t.Errorf("over the limit: %d, want 429", r.status)
	}
	var calls struct {
		Tokens []callStats `json:"tokens"`
	}
	if err := json.Unmarshal(s.must(200, "GET", "/_sim/calls", "", nil).body, &calls); err != nil {
		t.Fatal(err)
	}
	if len(calls.Tokens) != 1 || calls.Tokens[0].Total != 3 {
		t.Errorf("/_sim/calls %+v, want the admin token with 3 calls", calls.Tokens)
	}
}
