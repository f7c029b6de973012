package hipchatsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEmoticonCatalog: the global catalog is HipChat's standard set, each with its fields, and pages
// like every list.
func TestEmoticonCatalog(t *testing.T) {
	s := newSim(t)
	var all struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(t, json.Unmarshal(s.must(200, "GET", "/v2/emoticon?max-results=1000&expand=items", s.admin, nil).body, &all))
	require.Greater(t, len(all.Items), 150)
	ids, shortcuts := map[float64]bool{}, map[string]bool{}
	for _, e := range all.Items {
		require.False(t, ids[e["id"].(float64)], "duplicate id %v", e["id"])
		ids[e["id"].(float64)] = true
		shortcuts[e["shortcut"].(string)] = true
		for _, k := range []string{"type", "width", "height", "audio_path", "url", "links"} {
			require.Contains(t, e, k, e["shortcut"])
		}
	}
	for _, sc := range []string{"allthethings", "awyeah", "challengeaccepted", "areyoukiddingme", "badass", "boom", "cake",
		"coffee", "facepalm", "fonzie", "gangnamstyle", "haha", "okay", "orly", "poo", "shrug", "success", "thumbsup", "yey", "yuno"} {
		require.True(t, shortcuts[sc], sc)
	}
	total := len(all.Items)

	for _, tc := range []struct {
		name, query string
		status      int
		count       int
		next        bool
	}{
		{"default page", "", 200, 100, true},
		{"second page", "?start-index=100", 200, total - 100, false},
		{"small page", "?max-results=5&start-index=3", 200, 5, true},
		{"past the end", "?start-index=5000", 200, 0, false},
		{"global", "?type=global&max-results=1000", 200, total, false},
		{"group has none", "?type=group", 200, 0, false},
		{"bad type", "?type=custom", 400, 0, false},
		{"bad max-results", "?max-results=1001", 400, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).must(tc.status, "GET", "/v2/emoticon"+tc.query, s.admin, nil)
			if tc.status != 200 {
				return
			}
			var page struct {
				Items []map[string]any `json:"items"`
				Links map[string]string
			}
			require.NoError(t, json.Unmarshal(r.body, &page))
			require.Len(t, page.Items, tc.count)
			_, hasNext := page.Links["next"]
			require.Equal(t, tc.next, hasNext)
		})
	}

	for _, ref := range []string{"yey", "(yey)", strconv.Itoa(int(all.Items[len(all.Items)-3]["id"].(float64)))} {
		r := s.with(t).must(200, "GET", "/v2/emoticon/"+ref, s.admin, nil).json(t)
		require.Equal(t, "global", r["type"])
	}
	s.must(http.StatusNotFound, "GET", "/v2/emoticon/nosuch", s.admin, nil)
	chewie := s.must(200, "GET", "/v2/emoticon/chewie", s.admin, nil).json(t)
	require.NotNil(t, chewie["audio_path"])
}
