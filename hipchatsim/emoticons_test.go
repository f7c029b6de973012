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

// TestEmoticonIDs: the global emoticons answer with HipChat's own ids where a public record keeps
// them (the later, renumbered id where one survives) and with assigned ids from 200001 elsewhere,
// by id and by shortcut alike.
func TestEmoticonIDs(t *testing.T) {
	s := newSim(t)
	for _, tc := range []struct {
		shortcut      string
		id            int
		width, height int
	}{
		{"allthethings", 105216, 36, 30}, // issue 27; 260 before October 2014
		{"troll", 105148, 25, 25},        // dogonthehorizon/chiphat
		{"zoidberg", 118608, 30, 30},     // Atlassian's emoji component
		{"android", 118, 30, 30},         // the October 2014 answer (ninjabear/hipchat4j)
		{"yey", 43, 30, 30},
		{"chewie", 203, 30, 30},
		{"success", 8528, 30, 30},
		{"thumbsup", 200026, 30, 30}, // in no surviving answer: assigned
	} {
		byName := s.must(200, "GET", "/v2/emoticon/"+tc.shortcut, s.admin, nil).json(t)
		if byName["id"] != float64(tc.id) || byName["width"] != float64(tc.width) || byName["height"] != float64(tc.height) {
			t.Errorf("%s: id %v %vx%v, want %d %dx%d", tc.shortcut, byName["id"], byName["width"], byName["height"], tc.id, tc.width, tc.height)
		}
		byID := s.must(200, "GET", "/v2/emoticon/"+strconv.Itoa(tc.id), s.admin, nil).json(t)
		if byID["shortcut"] != tc.shortcut || byID["links"].(map[string]any)["self"] != s.ts.URL+"/v2/emoticon/"+strconv.Itoa(tc.id) {
			t.Errorf("GET /v2/emoticon/%d: %v", tc.id, byID)
		}
	}
	s.must(http.StatusNotFound, "GET", "/v2/emoticon/260", s.admin, nil) // allthethings' pre-2014 id is not an alias

	var entries []catalogEntry
	if err := json.Unmarshal(emoticonCatalog, &entries); err != nil {
		t.Fatal(err)
	}
	assigned := 0
	for i, e := range entries {
		switch {
		case e.Recorded == "" && e.ID < 200001, e.Recorded != "" && e.ID >= 200001:
			t.Errorf("%s: id %d does not match its record %q", e.Shortcut, e.ID, e.Recorded)
		case e.Recorded == "":
			assigned++
		}
		if i > 0 && entries[i-1].Shortcut >= e.Shortcut {
			t.Errorf("catalog not in shortcut order at %s", e.Shortcut)
		}
	}
	if assigned != 26 {
		t.Errorf("%d assigned ids, want the 26 the package doc lists", assigned)
	}
}
