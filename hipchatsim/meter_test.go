package hipchatsim

import (
	"encoding/json"
	"testing"
	"time"
)

// TestCallsBoundedUnderFrozenClock: a frozen test clock used to grow a token's call log by one entry
// per call; calls at one instant now share one run, and the counters stay exact.
func TestCallsBoundedUnderFrozenClock(t *testing.T) {
	for _, tc := range []struct {
		name             string
		steps            []time.Duration // clock offsets, one call each
		max60, max300    int
		maxRunsRemaining int
	}{
		{"frozen", repeat(0, 400), 400, 400, 1},
		{"two instants", append(repeat(0, 200), repeat(time.Second, 200)...), 400, 400, 2},
		{"past the 60 s window", append(repeat(0, 100), repeat(61*time.Second, 150)...), 150, 250, 2},
		{"past the 300 s window", append(repeat(0, 100), repeat(301*time.Second, 50)...), 100, 100, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			start := s.clock.Now()
			for _, d := range tc.steps {
				s.clock.Set(start.Add(d))
				s.must(200, "GET", "/v2/room", s.admin, nil)
			}
			r := s.must(200, "GET", "/_sim/calls", "", nil)
			var calls struct {
				Tokens []callStats `json:"tokens"`
			}
			if err := json.Unmarshal(r.body, &calls); err != nil {
				t.Fatal(err)
			}
			want := callStats{TokenSHA256: sha(testAdminToken), Total: len(tc.steps), MaxInAny60s: tc.max60, MaxInAny300s: tc.max300}
			if len(calls.Tokens) != 1 || calls.Tokens[0] != want {
				t.Errorf("calls %s, want %+v", r.body, want)
			}
			u := s.srv.tokens[testAdminToken].usage
			u.mu.Lock()
			runs := len(u.recent) - u.head
			u.mu.Unlock()
			if runs > tc.maxRunsRemaining {
				t.Errorf("%d runs kept for the last 300 s, want at most %d", runs, tc.maxRunsRemaining)
			}
		})
	}
}

// TestCallLogMemoryFrozenClock counts a million calls at one instant directly on a usage: the log
// keeps one run.
func TestCallLogMemoryFrozenClock(t *testing.T) {
	u := newUsage("x")
	now := time.Unix(1_500_000_000, 0)
	for i := 0; i < 1_000_000; i++ {
		u.countCall(now)
	}
	if len(u.recent) != 1 || u.max60 != 1_000_000 || u.max300 != 1_000_000 {
		t.Errorf("len(recent)=%d max60=%d max300=%d", len(u.recent), u.max60, u.max300)
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
