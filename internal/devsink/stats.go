package main

import (
	"encoding/json"
	"net/http"
	"time"
)

// counts is what the sink accepted: every delivery, and each webhook-id once (the connector gives a
// delivery the same webhook-id on every attempt, so a second one is a repeat).
type counts struct {
	accepted    int
	seen        map[string]struct{}
	first, last time.Time
	arrived     map[string]time.Time // by event id, when the first delivery of it came (nil: not kept)
}

// add counts one accepted delivery with webhook-id id of event item, accepted at at.
func (c *counts) add(id, item string, at time.Time) {
	c.accepted++
	c.seen[id] = struct{}{}
	if _, ok := c.arrived[item]; c.arrived != nil && !ok {
		c.arrived[item] = at
	}
	if c.first.IsZero() {
		c.first = at
	}
	c.last = at
}

// stats is the answer of GET /stats. Times are Unix nanoseconds (0 before the first delivery), on
// the machine's clock, so that a load run on the same machine can take its duration from them.
type stats struct {
	Accepted      int   `json:"accepted"`
	Unique        int   `json:"unique"`
	Repeats       int   `json:"repeats"`
	FirstUnixNano int64 `json:"first_unix_nano"`
	LastUnixNano  int64 `json:"last_unix_nano"`
}

// serveStats answers the counts so far.
func (s *sink) serveStats(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	st := stats{Accepted: s.count.accepted, Unique: len(s.count.seen), Repeats: s.count.accepted - len(s.count.seen)}
	if !s.count.first.IsZero() {
		st.FirstUnixNano, st.LastUnixNano = s.count.first.UnixNano(), s.count.last.UnixNano()
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// serveArrivals answers when each event first arrived, Unix nanoseconds by event id (empty without
// -arrivals).
func (s *sink) serveArrivals(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	arrived := make(map[string]int64, len(s.count.arrived))
	for id, at := range s.count.arrived {
		arrived[id] = at.UnixNano()
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(arrived)
}
