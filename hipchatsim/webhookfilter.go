package hipchatsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// callFilter selects entries of GET /_sim/webhooks: by the receiver's status, by webhook and by
// room. The zero filter selects every entry.
type callFilter struct {
	codes     map[int]bool // exact statuses; 0 is "no answer" (a failed or dropped call)
	classes   map[int]bool // 2 for 2xx … 5xx
	webhookID int          // 0: any
	roomID    int          // 0: any
}

// callPage is the part of the selected entries GET /_sim/webhooks answers: with a limit, the newest
// limit of those whose seq is below before (any seq without hasBefore); without, all.
type callPage struct {
	limit     int // 0: no limit
	before    uint64
	hasBefore bool
}

// parseCallFilter reads ?status= (a comma-separated list of statuses such as 404, classes such as
// 4xx or 5xx, and 0 for calls without an answer, dropped ones included) and ?webhook_id=. A bad
// value is a 400 naming the parameter.
func parseCallFilter(q url.Values) (callFilter, error) {
	f := callFilter{codes: map[int]bool{}, classes: map[int]bool{}}
	if raw := q.Get("status"); raw != "" {
		for _, part := range strings.Split(raw, ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if len(part) == 3 && strings.HasSuffix(part, "xx") && part[0] >= '1' && part[0] <= '5' {
				f.classes[int(part[0]-'0')] = true
				continue
			}
			code, err := strconv.Atoi(part)
			if err != nil || (code != 0 && (code < 100 || code > 599)) {
				return f, invalid("status", "format", raw,
					"Parameter 'status' must list HTTP statuses (404), classes (4xx) or 0 (no answer), separated by commas")
			}
			f.codes[code] = true
		}
	}
	if raw := q.Get("webhook_id"); raw != "" {
		id, err := strconv.Atoi(raw)
		if err != nil || id < 1 {
			return f, invalid("webhook_id", "type", raw, "Parameter 'webhook_id' must be a webhook id")
		}
		f.webhookID = id
	}
	if raw := q.Get("room_id"); raw != "" {
		id, err := strconv.Atoi(raw)
		if err != nil || id < 1 {
			return f, invalid("room_id", "type", raw, "Parameter 'room_id' must be a room id")
		}
		f.roomID = id
	}
	return f, nil
}

// parseCallPage reads ?limit= (1 to webhookLogSize) and ?before= (a seq). A bad value is a 400
// naming the parameter; before without limit is one too.
func parseCallPage(q url.Values) (callPage, error) {
	var p callPage
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > webhookLogSize {
			return p, invalid("limit", "range", raw, "Parameter 'limit' must be a whole number from 1 to %d", webhookLogSize)
		}
		p.limit = n
	}
	if raw := q.Get("before"); raw != "" {
		seq, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || p.limit == 0 {
			return p, invalid("before", "type", raw, "Parameter 'before' must be a seq, given with 'limit'")
		}
		p.before, p.hasBefore = seq, true
	}
	return p, nil
}

// cut returns the page of calls (selected, oldest first) and whether older selected calls remain.
func (p callPage) cut(calls []webhookCall) ([]webhookCall, bool) {
	if p.limit == 0 {
		return calls, false
	}
	end := len(calls)
	if p.hasBefore {
		for end > 0 && calls[end-1].Seq >= p.before {
			end--
		}
	}
	start := max(0, end-p.limit)
	return calls[start:end], start > 0
}

// keeps reports whether e passes the filter.
func (f callFilter) keeps(e webhookCall) bool {
	if (f.webhookID != 0 && e.WebhookID != f.webhookID) || (f.roomID != 0 && e.RoomID != f.roomID) {
		return false
	}
	if len(f.codes) == 0 && len(f.classes) == 0 {
		return true
	}
	return f.codes[e.Status] || f.classes[e.Status/100]
}

// handleWebhookCalls is GET /_sim/webhooks: {"calls":[…],"remembered":N}, the last webhookLogSize
// webhook calls oldest first, each with seq, at, event, url, webhook_id, room_id, status (0: no
// answer), latency_ms, dropped and error; ?status=, ?webhook_id= and ?room_id= keep only the
// matching ones (parseCallFilter). ?limit=N answers the newest N of them (still oldest first) and
// "more": whether older ones remain; ?before=SEQ with it, the newest N older than that call: a
// page page by page, newest first, as the sandbox shows them.
func (s *Server) handleWebhookCalls(c *call) error {
	f, err := parseCallFilter(c.query)
	if err != nil {
		return err
	}
	page, err := parseCallPage(c.query)
	if err != nil {
		return err
	}
	calls := []webhookCall{}
	for _, e := range s.hooks.calls() {
		if f.keeps(e) {
			calls = append(calls, e)
		}
	}
	calls, more := page.cut(calls)
	answer := map[string]any{"calls": calls, "remembered": webhookLogSize}
	if page.limit > 0 {
		answer["more"] = more
	}
	return c.json(http.StatusOK, answer)
}
