package hipchatsim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedRoom makes room "Log" with n messages posted over HTTP by the admin, one second apart, and
// returns their ids oldest first.
func seedRoom(s *sim, n int) []string {
	s.t.Helper()
	s.createRoom(s.admin, "Log", "public")
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.post(s.admin, "Log", fmt.Sprintf("m%d", i))
		s.clock.Advance(time.Second)
	}
	return ids
}

func TestLatest(t *testing.T) {
	s := newSim(t)
	ids := seedRoom(s, 10)
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"default is the newest 75, oldest first", "", ids},
		{"max-results", "?max-results=3", ids[7:]},
		{"max-results 0", "?max-results=0", []string{}},
		{"not-before among the newest is included with everything newer", "?max-results=5&not-before=" + ids[6], ids[6:]},
		{"not-before is the newest", "?max-results=5&not-before=" + ids[9], ids[9:]},
		{"not-before exactly the oldest of the page", "?max-results=4&not-before=" + ids[6], ids[6:]},
		{"more than max-results newer: the newest page, not-before absent (a gap)", "?max-results=3&not-before=" + ids[6], ids[7:]},
		{"not-before the very first message", "?max-results=75&not-before=" + ids[0], ids},
		{"unknown not-before is ignored", "?max-results=2&not-before=00000000-dead-beef-0000-000000000000", ids[8:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.with(t).history(s.admin, "/v2/room/Log/history/latest"+tt.query)
			if got := p.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
			if p.StartIndex != 0 || p.Links.Next != "" || !strings.HasSuffix(p.Links.Self, "/v2/room/Log/history/latest") {
				t.Errorf("envelope: %+v", p)
			}
		})
	}
}

func TestLatestNotBeforeOfAnotherRoomIsIgnored(t *testing.T) {
	s := newSim(t)
	ids := seedRoom(s, 3)
	s.createRoom(s.admin, "Other", "public")
	other := s.post(s.admin, "Other", "x")
	p := s.history(s.admin, "/v2/room/Log/history/latest?not-before="+other)
	if !slices.Equal(p.ids(), ids) {
		t.Errorf("ids %v, want %v", p.ids(), ids)
	}
}

func TestHistoryByDate(t *testing.T) {
	s := newSim(t)
	ids := seedRoom(s, 10) // m0 at t0, m1 at t0+1s, …
	t0 := newClock().Now()
	at := func(i int) string { return url.QueryEscape(formatDate(t0.Add(time.Duration(i) * time.Second))) }
	tests := []struct {
		name     string
		query    string
		want     []string
		wantNext string // query of links.next, "" for none
	}{
		{"no date is the newest 75", "", ids, ""},
		{"recent ignores paging", "?date=recent&max-results=2&start-index=5", ids, ""},
		{"recent newest first with reverse=false", "?date=recent&reverse=false", reversed(ids), ""},
		{"date is an inclusive upper bound", "?date=" + at(4), ids[:5], ""},
		{"end-date is an inclusive lower bound", "?date=" + at(6) + "&end-date=" + at(3), ids[3:7], ""},
		{"the newest max-results before date, oldest first", "?date=" + at(9) + "&max-results=3", ids[7:], "date=" + at(9) + "&max-results=3&start-index=3"},
		{"start-index counts from the newest", "?date=" + at(9) + "&max-results=3&start-index=3", ids[4:7], "date=" + at(9) + "&max-results=3&start-index=6"},
		{"last page has no next", "?date=" + at(9) + "&max-results=3&start-index=9", ids[:1], ""},
		{"start-index past the end", "?date=" + at(9) + "&start-index=50", []string{}, ""},
		{"reverse=false is newest first", "?date=" + at(9) + "&max-results=3&reverse=false", reversed(ids[7:]), "date=" + at(9) + "&max-results=3&reverse=false&start-index=3"},
		{"bare date is the whole day", "?date=2018-01-10", ids, ""},
		{"bare end-date is the day's start", "?date=2018-01-10&end-date=2018-01-10", ids, ""},
		{"day before has nothing", "?date=2018-01-09", []string{}, ""},
		{"timestamp without offset is UTC", "?date=2018-01-10T09:35:52.702319", ids[:3], ""},
		{"offset that arrived as a space", "?date=2018-01-10T10:35:51.702319%2001:00", ids[:2], ""},
		{"timezone reads offset-less dates", "?date=2018-01-10T10:35:51.702319&timezone=Europe/Berlin", ids[:2], ""},
		{"end-date null is no bound", "?date=" + at(1) + "&end-date=null", ids[:2], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.with(t).history(s.admin, "/v2/room/Log/history"+tt.query)
			if got := p.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
			next := ""
			if p.Links.Next != "" {
				u, err := url.Parse(p.Links.Next)
				if err != nil || u.Path != "/v2/room/Log/history" {
					t.Fatalf("next %q", p.Links.Next)
				}
				next = u.RawQuery
			}
			if next != tt.wantNext {
				t.Errorf("next query %q, want %q", next, tt.wantNext)
			}
			if strings.Contains(p.Links.Self, "?") {
				t.Errorf("self has a query: %s", p.Links.Self)
			}
		})
	}
}

func reversed(ids []string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

func TestHistoryTimezoneRendersOffsets(t *testing.T) {
	s := newSim(t)
	seedRoom(s, 1)
	utc := s.history(s.admin, "/v2/room/Log/history/latest")
	if got := utc.Items[0].Date; got != "2018-01-10T09:35:50.702319+00:00" {
		t.Errorf("UTC date %q", got)
	}
	ny := s.history(s.admin, "/v2/room/Log/history/latest?timezone=America/New_York")
	if got := ny.Items[0].Date; got != "2018-01-10T04:35:50.702319-05:00" {
		t.Errorf("New York date %q", got)
	}
	r := s.do("GET", "/v2/room/Log/history?timezone=Mars/Olympus", s.admin, nil)
	if r.status != http.StatusBadRequest || r.json(t)["error"].(map[string]any)["field"] != "timezone" {
		t.Errorf("unknown timezone: %d %s", r.status, r.body)
	}
}

func TestHistoryBadParameters(t *testing.T) {
	s := newSim(t)
	seedRoom(s, 1)
	for _, tt := range []struct{ path, field string }{
		{"/v2/room/Log/history?date=2018-01-10&max-results=1001", "max-results"},
		{"/v2/room/Log/history?date=2018-01-10&max-results=-1", "max-results"},
		{"/v2/room/Log/history?date=2018-01-10&max-results=ten", "max-results"},
		{"/v2/room/Log/history?date=2018-01-10&start-index=-3", "start-index"},
		{"/v2/room/Log/history?date=yesterday", "date"},
		{"/v2/room/Log/history?date=2018-01-10&end-date=soon", "end-date"},
		{"/v2/room/Log/history?reverse=maybe", "reverse"},
		{"/v2/room/Log/history?include_deleted=perhaps", "include_deleted"},
		{"/v2/room/Log/history/latest?max-results=5000", "max-results"},
	} {
		r := s.do("GET", tt.path, s.admin, nil)
		e, _ := r.json(t)["error"].(map[string]any)
		if r.status != http.StatusBadRequest || e["field"] != tt.field || e["type"] != "Bad Request" || e["code"] != float64(400) {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.path, r.status, r.body, tt.field)
		}
	}
	r := s.do("GET", "/v2/room/Nope/history/latest", s.admin, nil)
	if r.status != http.StatusNotFound || r.errorMessage(t) != "Room Nope not found" {
		t.Errorf("unknown room: %d %s", r.status, r.body)
	}
}

func TestEqualTimestampsKeepInsertionOrder(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Log", "public")
	var ids []string
	for i := 0; i < 6; i++ { // frozen clock: all six share one timestamp
		ids = append(ids, s.post(s.admin, "Log", fmt.Sprintf("same %d", i)))
	}
	p := s.history(s.admin, "/v2/room/Log/history/latest")
	if !slices.Equal(p.ids(), ids) {
		t.Fatalf("latest order %v, want %v", p.ids(), ids)
	}
	for _, it := range p.Items {
		if it.Date != p.Items[0].Date {
			t.Fatalf("dates differ: %s vs %s", it.Date, p.Items[0].Date)
		}
	}
	// not-before in the middle of a shared timestamp keeps exactly it and what came after it
	p = s.history(s.admin, "/v2/room/Log/history/latest?not-before="+ids[2])
	if !slices.Equal(p.ids(), ids[2:]) {
		t.Errorf("not-before %v, want %v", p.ids(), ids[2:])
	}
	// paging by offset through one shared timestamp neither drops nor repeats
	date := url.QueryEscape(p.Items[0].Date)
	var got []string
	for start := 0; start < 6; start += 4 {
		page := s.history(s.admin, fmt.Sprintf("/v2/room/Log/history?date=%s&end-date=%s&max-results=4&start-index=%d", date, date, start))
		got = append(page.ids(), got...)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("paged %v, want %v", got, ids)
	}
	// a message posted while the clock went backwards is placed by its date
	s.clock.Advance(-time.Minute)
	early := s.post(s.admin, "Log", "from the past")
	p = s.history(s.admin, "/v2/room/Log/history/latest")
	if p.ids()[0] != early {
		t.Errorf("backdated message at %d", slices.Index(p.ids(), early))
	}
}

func TestDeletedMessage(t *testing.T) {
	s := newSim(t)
	ids := seedRoom(s, 4)
	s.must(http.StatusNoContent, "DELETE", "/_sim/room/Log/history/"+ids[1], "", nil)
	s.must(http.StatusNoContent, "DELETE", "/_sim/room/Log/history/"+ids[1], "", nil) // idempotent
	if r := s.do("DELETE", "/_sim/room/Log/history/unknown", "", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown message: %d", r.status)
	}
	if r := s.do("DELETE", "/_sim/room/Nowhere/history/"+ids[1], "", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown room: %d", r.status)
	}
	for _, path := range []string{"/v2/room/Log/history/latest", "/v2/room/Log/history/latest?include_deleted=true",
		"/v2/room/Log/history?date=2018-02-01"} {
		p := s.history(s.admin, path)
		if !slices.Equal(p.ids(), ids) || p.Items[1].Message != nil || p.Items[0].Message == nil {
			t.Errorf("%s: deleted message not kept with message null: %s", path, s.must(200, "GET", path, s.admin, nil).body)
		}
	}
	r := s.must(http.StatusOK, "GET", "/v2/room/Log/history/latest", s.admin, nil)
	if !strings.Contains(string(r.body), `"message":null`) {
		t.Errorf("no message:null in %s", r.body)
	}
	want := []string{ids[0], ids[2], ids[3]}
	for _, path := range []string{"/v2/room/Log/history/latest?include_deleted=false",
		"/v2/room/Log/history?date=2018-02-01&include_deleted=false", "/v2/room/Log/history?include_deleted=false"} {
		if p := s.history(s.admin, path); !slices.Equal(p.ids(), want) {
			t.Errorf("%s: %v, want %v", path, p.ids(), want)
		}
	}
	if p := s.history(s.admin, "/v2/room/Log/history/latest?include_deleted=false&max-results=3"); !slices.Equal(p.ids(), want) {
		t.Errorf("latest 3 without deleted: %v", p.ids())
	}
	if p := s.history(s.admin, "/v2/room/Log/history?date=2018-02-01&include_deleted=false&max-results=2&start-index=1"); !slices.Equal(p.ids(), want[:2]) {
		t.Errorf("offset without deleted: %v", p.ids())
	}
	r = s.must(http.StatusOK, "GET", "/v2/room/Log/history/"+ids[1], s.admin, nil)
	if m := r.json(t)["message"].(map[string]any); m["message"] != nil || m["id"] != ids[1] {
		t.Errorf("single deleted message: %s", r.body)
	}
	if r := s.do("GET", "/v2/room/Log/history/"+ids[1]+"?include_deleted=false", s.admin, nil); r.status != http.StatusNotFound {
		t.Errorf("deleted message without include_deleted: %d", r.status)
	}
}

// bigRoom seeds 2,500 messages through fixtures; every five share a timestamp.
func bigRoom(t testing.TB, n int) (*sim, []string) {
	t0 := newClock().Now()
	var msgs []FixtureMessage
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		msgs = append(msgs, FixtureMessage{ID: ids[i], From: "@admin", Message: fmt.Sprintf("m%d", i),
			Date: t0.Add(time.Duration(i/5) * time.Millisecond).Format(time.RFC3339Nano)})
	}
	s := newSim(t, func(o *Options) { o.Fixtures = &Fixtures{Rooms: []FixtureRoom{{Name: "Big", Messages: msgs}}} })
	return s, ids
}

func TestPaging2500ByDate(t *testing.T) {
	s, ids := bigRoom(t, 2500)
	until := url.QueryEscape(formatDate(newClock().Now().Add(time.Hour)))

	t.Run("links.next with reverse (pages oldest first, going back)", func(t *testing.T) {
		var pages [][]string
		next := "/v2/room/Big/history?date=" + until + "&max-results=100&include_deleted=true"
		for next != "" {
			p := s.history(s.admin, next)
			pages = append(pages, p.ids())
			next = strings.TrimPrefix(p.Links.Next, s.ts.URL)
			if next != "" && !strings.Contains(next, "include_deleted=true") {
				t.Fatalf("next lost a parameter: %s", next)
			}
		}
		var got []string
		for i := len(pages) - 1; i >= 0; i-- {
			got = append(got, pages[i]...)
		}
		if len(pages) != 25 || !slices.Equal(got, ids) {
			t.Fatalf("%d pages, %d ids; equal=%v", len(pages), len(got), slices.Equal(got, ids))
		}
	})
	t.Run("start-index with reverse=false (newest first)", func(t *testing.T) {
		var got []string
		for start := 0; ; start += 1000 {
			p := s.history(s.admin, fmt.Sprintf("/v2/room/Big/history?date=%s&max-results=1000&start-index=%d&reverse=false", until, start))
			got = append(got, p.ids()...)
			if p.Links.Next == "" {
				break
			}
		}
		if !slices.Equal(got, reversed(ids)) {
			t.Fatalf("%d ids, not the history newest first", len(got))
		}
	})
	t.Run("by date: the next request's date is the oldest item's date", func(t *testing.T) {
		seen := map[string]bool{}
		var got []string
		date := until
		for {
			p := s.history(s.admin, "/v2/room/Big/history?max-results=100&date="+date)
			fresh := 0
			for i := len(p.Items) - 1; i >= 0; i-- {
				if id := p.Items[i].ID; !seen[id] {
					seen[id] = true
					got = append(got, id)
					fresh++
				}
			}
			if fresh == 0 {
				break
			}
			date = url.QueryEscape(p.Items[0].Date)
		}
		if !slices.Equal(got, reversed(ids)) {
			t.Fatalf("%d ids, not the whole history", len(got))
		}
	})
}

// TestPaging2500WithLatest polls history/latest with not-before the way a careful poller does while
// 2,500 messages arrive in bursts, some larger than a page, some sharing one timestamp; when the
// not-before message is absent it fills the gap from /history by date. It must see every message
// once, in order.
func TestPaging2500WithLatest(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Log", "public")
	posted := []string{s.post(s.admin, "Log", "first")}
	seen := slices.Clone(posted)
	cursorID, cursorDate := posted[0], formatDate(s.clock.Now())
	gaps := 0
	bursts := []int{1, 99, 100, 101, 3, 250, 7, 0, 400, 60, 100, 1, 2, 180, 95, 305, 5, 40, 120, 99, 75, 11, 50, 50, 141, 204}
	for b, n := range bursts {
		for i := 0; i < n; i++ {
			if (b+i)%3 != 0 { // two of three messages share the previous one's timestamp
				s.clock.Advance(time.Millisecond)
			}
			posted = append(posted, s.post(s.admin, "Log", fmt.Sprintf("b%d-%d", b, i)))
		}
		page := s.history(s.admin, "/v2/room/Log/history/latest?max-results=100&not-before="+cursorID)
		var fresh []string
		if i := slices.Index(page.ids(), cursorID); i >= 0 {
			fresh = page.ids()[i+1:]
		} else { // gap: everything from the cursor's date up to the page's oldest item
			gaps++
			inPage := map[string]bool{}
			for _, id := range page.ids() {
				inPage[id] = true
			}
			var chunks [][]string
			next := "/v2/room/Log/history?max-results=100&date=" + url.QueryEscape(page.Items[0].Date) + "&end-date=" + url.QueryEscape(cursorDate)
			for next != "" {
				p := s.history(s.admin, next)
				chunks = append(chunks, p.ids())
				next = strings.TrimPrefix(p.Links.Next, s.ts.URL)
			}
			seenSet := map[string]bool{}
			for _, id := range seen {
				seenSet[id] = true
			}
			for i := len(chunks) - 1; i >= 0; i-- {
				for _, id := range chunks[i] {
					if !seenSet[id] && !inPage[id] {
						fresh = append(fresh, id)
					}
				}
			}
			fresh = append(fresh, page.ids()...)
		}
		seen = append(seen, fresh...)
		if len(page.Items) > 0 {
			last := page.Items[len(page.Items)-1]
			cursorID, cursorDate = last.ID, last.Date
		}
	}
	if gaps == 0 || gaps == len(bursts) {
		t.Errorf("%d of %d polls found a gap; the test should exercise both paths", gaps, len(bursts))
	}
	if len(posted) != 2500 || !slices.Equal(seen, posted) {
		t.Fatalf("posted %d, seen %d; equal=%v", len(posted), len(seen), slices.Equal(seen, posted))
	}
}
