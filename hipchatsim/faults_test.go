package hipchatsim

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// An injected 429 looks like HipChat's own: with the rate limit on it says X-Ratelimit-Remaining: 0
// and when the window resets; with it off it carries a Retry-After, so a client always knows when
// to come back.
func TestInjected429SaysWhenToComeBack(t *testing.T) {
	t.Run("rate limit on", func(t *testing.T) {
		s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t); o.UserRateLimit = 100 })
		s.must(204, "POST", "/_sim/faults", "", map[string]any{"status": 429})
		r := s.do("GET", "/v2/room", "bob-read-only-token", nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("X-Ratelimit-Remaining") != "0" {
			t.Fatalf("%d %v", r.status, r.header)
		}
		reset, err := strconv.ParseFloat(r.header.Get("X-Ratelimit-Reset"), 64)
		if err != nil || time.Unix(int64(reset), 0).Before(s.clock.Now().Truncate(time.Second)) {
			t.Errorf("X-Ratelimit-Reset %q is not a reset to come", r.header.Get("X-Ratelimit-Reset"))
		}
	})
	t.Run("rate limit off", func(t *testing.T) {
		s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
		s.must(204, "POST", "/_sim/faults", "", map[string]any{"status": 429})
		r := s.do("GET", "/v2/room", "bob-read-only-token", nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
			t.Errorf("%d %v", r.status, r.header)
		}
	})
}

// An injected 401 is HipChat's answer to a token it no longer accepts; clearing the fault makes the
// same token work again (what a revoked and reinstated token cannot do in the emulator).
func TestInjected401UntilCleared(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	s.must(204, "POST", "/_sim/faults", "", map[string]any{"token_sha256": sha("ann-personal-token"), "status": 401})
	r := s.do("GET", "/v2/room", "ann-personal-token", nil)
	if r.status != http.StatusUnauthorized || r.errorMessage(t) != "Invalid OAuth session" {
		t.Errorf("faulted token: %d %s", r.status, r.body)
	}
	s.must(200, "GET", "/v2/room", "bob-read-only-token", nil)
	s.must(204, "DELETE", "/_sim/faults", "", nil)
	s.must(200, "GET", "/v2/room", "ann-personal-token", nil)
}
