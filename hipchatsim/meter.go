package hipchatsim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateWindow is HipChat's rate-limit window (spec §1.5); floodWindow is flood control's.
const (
	rateWindow  = 5 * time.Minute
	floodWindow = time.Minute
)

// meter counts calls per token (for rate limits and /_sim/calls) and messages per room and sender
// (for flood control). Each token's usage has its own lock, so tokens do not contend.
type meter struct {
	mu     sync.Mutex
	usages []*usage // in order of first use, for /_sim/calls

	floodMu sync.Mutex
	floods  map[floodKey]*fixedWindow
}

// usage is everything counted about one token.
type usage struct {
	sha string // hex SHA-256 of the token

	mu     sync.Mutex
	listed bool // appended to meter.usages
	window fixedWindow

	// /_sim/calls: total, and the running maximum of calls in any 60 s and 300 s window. recent keeps
	// the calls of the last 300 s from index head on as runs of one instant each, so a frozen test
	// clock keeps one run however many calls it sees; p60 is the first run inside the last 60 s, and
	// in60/in300 count the calls from p60 and head on. Both pointers only move forward, so each call
	// costs amortised O(1).
	total         int
	recent        []callRun
	head, p60     int
	in60, in300   int
	max60, max300 int
	lastCall      int64
}

// callRun is how many calls a token made at one instant (Unix ns).
type callRun struct {
	at int64
	n  int
}

func newUsage(token string) *usage {
	sum := sha256.Sum256([]byte(token))
	return &usage{sha: hex.EncodeToString(sum[:])}
}

// fixedWindow is a fixed window that starts at the first call after the previous one ended.
type fixedWindow struct {
	start time.Time
	count int
}

// take counts one call at now and reports the calls left and when the window resets.
func (fw *fixedWindow) take(now time.Time, length time.Duration, limit int) (remaining int, reset time.Time, ok bool) {
	fw.roll(now, length)
	fw.count++
	return max(limit-fw.count, 0), fw.start.Add(length), fw.count <= limit
}

// peek reports the state without counting a call.
func (fw *fixedWindow) peek(now time.Time, length time.Duration, limit int) (remaining int, reset time.Time) {
	fw.roll(now, length)
	return max(limit-fw.count, 0), fw.start.Add(length)
}

func (fw *fixedWindow) roll(now time.Time, length time.Duration) {
	if fw.start.IsZero() || !now.Before(fw.start.Add(length)) || now.Before(fw.start) {
		fw.start = now.Truncate(time.Second)
		fw.count = 0
	}
}

// rateState is what the X-Ratelimit-* headers report.
type rateState struct {
	limit, remaining int
	reset            time.Time
}

// record counts one authenticated call of the token at now against limit (0 = no limit) and reports
// whether it is within the limit.
func (m *meter) record(u *usage, now time.Time, limit int) (rateState, bool) {
	u.mu.Lock()
	u.countCall(now)
	st := rateState{limit: limit}
	ok := true
	if limit > 0 {
		st.remaining, st.reset, ok = u.window.take(now, rateWindow, limit)
	}
	listed := u.listed
	u.listed = true
	u.mu.Unlock()
	if !listed {
		m.mu.Lock()
		m.usages = append(m.usages, u)
		m.mu.Unlock()
	}
	return st, ok
}

// countCall updates the call statistics. A clock that goes backwards counts the call at the latest
// time seen, so the windows stay ordered.
func (u *usage) countCall(now time.Time) {
	t := now.UnixNano()
	if t < u.lastCall {
		t = u.lastCall
	}
	u.lastCall = t
	u.total++
	if u.head > 4096 && u.head > len(u.recent)/2 {
		n := copy(u.recent, u.recent[u.head:])
		u.recent = u.recent[:n]
		u.p60 -= u.head
		u.head = 0
	}
	if last := len(u.recent) - 1; last >= u.head && u.recent[last].at == t {
		u.recent[last].n++
	} else {
		u.recent = append(u.recent, callRun{at: t, n: 1})
	}
	u.in60++
	u.in300++
	// The newest run is at t, so both loops stop before the end; the 60 s window lies inside the
	// 300 s one, so p60 never falls behind head.
	for u.recent[u.p60].at <= t-int64(time.Minute) {
		u.in60 -= u.recent[u.p60].n
		u.p60++
	}
	for u.recent[u.head].at <= t-int64(5*time.Minute) {
		u.in300 -= u.recent[u.head].n
		u.head++
	}
	u.max300 = max(u.max300, u.in300)
	u.max60 = max(u.max60, u.in60)
}

// callStats is one entry of GET /_sim/calls (DESIGN.md §8).
type callStats struct {
	TokenSHA256  string `json:"token_sha256"`
	Total        int    `json:"total"`
	MaxInAny60s  int    `json:"max_in_any_60s"`
	MaxInAny300s int    `json:"max_in_any_300s"`
}

func (m *meter) calls() []callStats {
	m.mu.Lock()
	usages := append([]*usage(nil), m.usages...)
	m.mu.Unlock()
	out := make([]callStats, 0, len(usages))
	for _, u := range usages {
		u.mu.Lock()
		out = append(out, callStats{TokenSHA256: u.sha, Total: u.total, MaxInAny60s: u.max60, MaxInAny300s: u.max300})
		u.mu.Unlock()
	}
	return out
}

// floodKey is one room (or private chat) and one sender.
type floodKey struct {
	target string // "room:<id>" or "chat:<a>-<b>"
	sender string // "user:<id>", "client:<id>" or "token:<sha>"
}

// flood counts one message of sender to target when take is set, and reports the state; ok is false
// once more than limit messages were sent in the current minute.
func (m *meter) flood(key floodKey, now time.Time, limit int, take bool) (st rateState, ok bool) {
	m.floodMu.Lock()
	defer m.floodMu.Unlock()
	if m.floods == nil {
		m.floods = make(map[floodKey]*fixedWindow)
	}
	fw := m.floods[key]
	if fw == nil {
		fw = &fixedWindow{}
		m.floods[key] = fw
	}
	st.limit = limit
	if take {
		st.remaining, st.reset, ok = fw.take(now, floodWindow, limit)
		if !ok {
			fw.count-- // a refused message does not use up the next window's budget
		}
		return st, ok
	}
	st.remaining, st.reset = fw.peek(now, floodWindow, limit)
	return st, true
}

// resetHeader formats a window reset as the captured real header did: Unix seconds with ".0"
// (spec §1.5, "1412564640.0"). Clients that parse a float or an integer prefix both read it.
func resetHeader(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + ".0"
}

func setRateHeaders(h http.Header, st rateState) {
	if st.limit <= 0 {
		return
	}
	h.Set("X-Ratelimit-Limit", strconv.Itoa(st.limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(st.remaining))
	h.Set("X-Ratelimit-Reset", resetHeader(st.reset))
}

func setFloodHeaders(h http.Header, st rateState) {
	if st.limit <= 0 {
		return
	}
	h.Set("X-FloodControl-Limit", strconv.Itoa(st.limit))
	h.Set("X-FloodControl-Remaining", strconv.Itoa(st.remaining))
	h.Set("X-FloodControl-Reset", resetHeader(st.reset))
}
