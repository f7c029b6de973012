package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetrySchedule is Svix's schedule (peers.md §2.6): after the first attempt fails, retry
// after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, so a delivery gets 8 attempts over about
// 27.5 hours before it is dead-lettered. Each delay is jittered (see DefaultJitter).
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// maxRetryAfter caps how long a receiver's Retry-After may push the next attempt back.
const maxRetryAfter = 24 * time.Hour

// DefaultJitter spreads a retry delay uniformly over ±20 %, so that receivers that failed together
// (an outage) are not all retried in the same second.
func DefaultJitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d)) // #nosec G404 -- jitter spreads retries in time; it guards nothing, so it needs no secret randomness
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date) relative to now; 0 when absent or
// unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}
