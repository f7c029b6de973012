package hipchatsim

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// page cuts one page out of items and wraps it in HipChat's collection envelope (spec §1.6):
// camelCase startIndex and maxResults echoing the request, links.self without the query, links.next
// only when more items exist and links.prev on later pages, both keeping the caller's other query
// parameters.
func (c *call) page(items []any, start, max int) map[string]any {
	total := len(items)
	lo := min(start, total)
	hi := min(lo+max, total)
	pageItems := items[lo:hi]
	if pageItems == nil {
		pageItems = []any{}
	}
	links := map[string]any{"self": c.selfURL()}
	if max > 0 && hi < total {
		links["next"] = c.pageURL(hi, max)
	}
	if start > 0 {
		links["prev"] = c.pageURL(maxInt(start-max, 0), max)
	}
	return map[string]any{"items": pageItems, "startIndex": start, "maxResults": max, "links": links}
}

func maxInt(a, b int) int { return max(a, b) }

// selfURL is the request's own URL without its query, with the path as the caller wrote it.
func (c *call) selfURL() string { return c.base() + c.r.URL.EscapedPath() }

// pageURL is selfURL with the caller's query and start-index/max-results replaced.
func (c *call) pageURL(start, max int) string {
	q := url.Values{}
	for k, v := range c.query {
		q[k] = v
	}
	q.Set("start-index", strconv.Itoa(start))
	q.Set("max-results", strconv.Itoa(max))
	return c.selfURL() + "?" + q.Encode()
}

// expands reports whether the expand parameter (comma-separated, spec §1.7) names what.
func expands(q url.Values, what string) bool {
	for _, v := range q["expand"] {
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == what {
				return true
			}
		}
	}
	return false
}

func jsonInto(raw json.RawMessage, v any) error { return json.Unmarshal(raw, v) }
