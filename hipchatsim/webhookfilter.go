package hipchatsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// callFilter selects entries of GET /_sim/webhooks: by the receiver's status and by webhook. The
// zero filter selects every entry.
type callFilter struct {
	codes     map[int]bool // exact statuses; 0 is "no answer" (a failed or dropped call)
	classes   map[int]bool // 2 for 2xx … 5xx
	webhookID int          // 0: any
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
	return f, nil
}

// keeps reports whether e passes the filter.
func (f callFilter) keeps(e webhookCall) bool {
	if f.webhookID != 0 && e.WebhookID != f.webhookID {
		return false
	}
	if len(f.codes) == 0 && len(f.classes) == 0 {
		return true
	}
	return f.codes[e.Status] || f.classes[e.Status/100]
}

// handleWebhookCalls is GET /_sim/webhooks: {"calls":[…],"remembered":N}, the last webhookLogSize
// webhook calls oldest first, each with seq, at, event, url, webhook_id, room_id, status (0: no
// answer), latency_ms, dropped and error; ?status= and ?webhook_id= keep only the matching ones
// (parseCallFilter).
func (s *Server) handleWebhookCalls(c *call) error {
	f, err := parseCallFilter(c.query)
	if err != nil {
		return err
	}
	calls := []webhookCall{}
	for _, e := range s.hooks.calls() {
		if f.keeps(e) {
			calls = append(calls, e)
		}
	}
	return c.json(http.StatusOK, map[string]any{"calls": calls, "remembered": webhookLogSize})
}
