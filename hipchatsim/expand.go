package hipchatsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Title expansion (spec §1.7): expand takes comma-separated paths, dot notation reaches nested
// entities ("items.owner", which first expands a stub that has no owner), lists on the way apply the rest of the path to each element, and any
// object with links.self that the path ends at is replaced by the full object that URL names: users,
// rooms, room statistics, webhooks and emoticons. Paths that name nothing, or entities the emulator
// has no fuller form of (the group), are left as they are. This works on every GET answer, history
// included, because it runs on the finished body, after the handler released its locks.

// expandWriter holds a GET answer back so that it can be expanded.
type expandWriter struct {
	w      http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (e *expandWriter) Header() http.Header { return e.w.Header() }
func (e *expandWriter) WriteHeader(status int) {
	if e.status == 0 {
		e.status = status
	}
}
func (e *expandWriter) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	return e.body.Write(b)
}

// expandPaths returns the expand parameter's paths, each split at its dots.
func expandPaths(q map[string][]string) [][]string {
	var out [][]string
	for _, v := range q["expand"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, strings.Split(p, "."))
			}
		}
	}
	return out
}

// finishExpand writes the held-back answer, expanded when it is a 200 JSON body.
func (c *call) finishExpand(e *expandWriter, paths [][]string) {
	body := e.body.Bytes()
	if e.status == http.StatusOK {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			base := c.base()
			for _, p := range paths {
				v = c.s.expandAt(v, p, base)
			}
			body = marshal(v)
		}
	}
	if e.status == 0 {
		e.status = http.StatusOK
	}
	e.w.WriteHeader(e.status)
	_, _ = e.w.Write(body) // the client went away: nothing left to tell it
}

// expandAt applies one path to v and returns the result.
func (s *Server) expandAt(v any, path []string, base string) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = s.expandAt(x[i], path, base)
		}
		return x
	case map[string]any:
		if len(path) == 0 {
			if full := s.resolveSelf(x, base); full != nil {
				return full
			}
			return x
		}
		if _, ok := x[path[0]]; !ok {
			// "items.owner" on stubs without an owner: expanding the inner entity expands the outer one.
			if full, ok := s.resolveSelf(x, base).(map[string]any); ok {
				x = full
			}
		}
		if child, ok := x[path[0]]; ok {
			x[path[0]] = s.expandAt(child, path[1:], base)
		}
		return x
	}
	return v
}

// resolveSelf returns the full form of the entity whose links.self is in m, or nil.
func (s *Server) resolveSelf(m map[string]any, base string) any {
	links, _ := m["links"].(map[string]any)
	self, _ := links["self"].(string)
	path, ok := strings.CutPrefix(self, base+"/v2/")
	if !ok {
		return nil
	}
	parts := strings.Split(path, "/")
	id := func(i int) int {
		if i >= len(parts) || !isDigits(parts[i]) {
			return 0
		}
		n, _ := strconv.Atoi(parts[i])
		return n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case len(parts) == 2 && parts[0] == "user" && id(1) >= 1 && id(1) <= len(s.users):
		return s.fullUser(s.users[id(1)-1], base)
	case parts[0] == "room" && id(1) >= 1 && id(1) <= len(s.rooms):
		r := s.rooms[id(1)-1]
		switch {
		case len(parts) == 2:
			return s.fullRoom(r, base, false)
		case len(parts) == 3 && parts[2] == "statistics":
			sent, lastActive := r.hist.stats()
			return map[string]any{"messages_sent": sent, "last_active": lastActive,
				"links": map[string]any{"self": r.selfURL(base) + "/statistics"}}
		case len(parts) == 4 && parts[2] == "webhook":
			for _, w := range r.webhooks {
				if w.id == id(3) {
					return w.json(r, base)
				}
			}
		}
	case len(parts) == 2 && parts[0] == "emoticon":
		for _, e := range s.emoticons {
			if e.id == id(1) {
				return e.full(base)
			}
		}
	}
	return nil
}
