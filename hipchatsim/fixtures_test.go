package hipchatsim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFixtures(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	p := s.history("ann-personal-token", "/v2/room/General/history/latest")
	if len(p.Items) != 4 || p.Items[0].ID != "1e9e3b67-f09a-4c6f-919c-90a91ebc9448" || p.Items[3].Message != nil ||
		string(p.Items[1].From) != `"GitHub"` || p.Items[2].File == nil || p.Items[2].File.ThumbURL == "" {
		t.Errorf("General history: %s", s.must(200, "GET", "/v2/room/General/history/latest", s.admin, nil).body)
	}
	room := s.must(200, "GET", "/v2/room/General", s.admin, nil).json(t)
	if room["created"] != "2018-01-01T08:00:00+00:00" || room["topic"] != "Everything" || room["owner"].(map[string]any)["mention_name"] != "ann" {
		t.Errorf("General: %v", room)
	}
	if u := s.must(200, "GET", "/v2/user/bob@example.com", s.admin, nil).json(t); u["id"] != float64(3) || u["timezone"] != "Europe/Berlin" || u["mention_name"] != "BobRay" {
		t.Errorf("Bob: %v", u)
	}
	members := s.must(200, "GET", "/v2/room/2/member", s.admin, nil).json(t)["items"].([]any)
	if len(members) != 2 {
		t.Errorf("Ops Private members %v", members)
	}
}

func TestFixtureErrors(t *testing.T) {
	for name, f := range map[string]Fixtures{
		"user without email":   {Users: []FixtureUser{{Name: "A"}}},
		"duplicate email":      {Users: []FixtureUser{{Name: "A", Email: "admin@example.com"}}},
		"bad timezone":         {Users: []FixtureUser{{Name: "A", Email: "a@x.y", Timezone: "Moon/Base"}}},
		"bad token scope":      {Users: []FixtureUser{{Name: "A", Email: "a@x.y", Tokens: []FixtureToken{{Token: "t", Scopes: []string{"fly"}}}}}},
		"duplicate token":      {Users: []FixtureUser{{Name: "A", Email: "a@x.y", Tokens: []FixtureToken{{Token: testAdminToken}}}}},
		"addon without secret": {Addons: []FixtureAddon{{ClientID: "c"}}},
		"unknown owner":        {Rooms: []FixtureRoom{{Name: "R", Owner: "@ghost"}}},
		"duplicate room":       {Rooms: []FixtureRoom{{Name: "R"}, {Name: "r"}}},
		"bad privacy":          {Rooms: []FixtureRoom{{Name: "R", Privacy: "hidden"}}},
		"members of public":    {Rooms: []FixtureRoom{{Name: "R", Members: []string{"@admin"}}}},
		"bad created":          {Rooms: []FixtureRoom{{Name: "R", Created: "yesterday"}}},
		"bad message date":     {Rooms: []FixtureRoom{{Name: "R", Messages: []FixtureMessage{{From: "@admin", Date: "noon"}}}}},
		"message without from": {Rooms: []FixtureRoom{{Name: "R", Messages: []FixtureMessage{{Message: "x"}}}}},
		"unknown author":       {Rooms: []FixtureRoom{{Name: "R", Messages: []FixtureMessage{{From: "@ghost"}}}}},
		"duplicate message id": {Rooms: []FixtureRoom{{Name: "R", Messages: []FixtureMessage{{ID: "x", From: "@admin"}, {ID: "x", From: "@admin"}}}}},
		"file without name":    {Rooms: []FixtureRoom{{Name: "R", Messages: []FixtureMessage{{From: "@admin", File: &FixtureFile{Content: "x"}}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			f := f
			if _, err := New(Options{AdminToken: testAdminToken, Fixtures: &f}); err == nil || !strings.Contains(err.Error(), "fixtures") {
				t.Errorf("New: %v", err)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "typo.json")
	os.WriteFile(path, []byte(`{"rooms":[{"nmae":"R"}]}`), 0o600)
	if _, err := LoadFixtures(path); err == nil {
		t.Error("an unknown key was accepted")
	}
	if _, err := New(Options{UserRateLimit: -1}); err == nil {
		t.Error("a negative limit was accepted")
	}
}

// TestDocumentedFixturesLoad keeps the example in the package documentation valid.
func TestDocumentedFixturesLoad(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var example bytes.Buffer
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if line == "//\t{" {
			in = true
		}
		if in {
			example.WriteString(strings.TrimPrefix(line, "//\t") + "\n")
		}
		if in && line == "//\t}" {
			break
		}
	}
	dec := json.NewDecoder(&example)
	dec.DisallowUnknownFields()
	var f Fixtures
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	if _, err := New(Options{Fixtures: &f}); err != nil {
		t.Fatalf("the documented example does not load: %v", err)
	}
}

// TestFixturesExample: the example a newcomer copies loads, and its secure room shares
// authenticated files.
func TestFixturesExample(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(path, FixturesExample(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFixtures(path)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, func(o *Options) { o.Fixtures = f })
	ops := s.history("ann-token", "/v2/room/Ops/history")
	if len(ops.Items) != 1 || ops.Items[0].File != nil || !strings.Contains(string(s.must(200, "GET", "/v2/room/Ops/history", "ann-token", nil).body), `"authenticated_file":{"id":`) {
		t.Errorf("Ops history: %+v", ops)
	}
	if general := s.history("ann-token", "/v2/room/General/history"); len(general.Items) != 4 {
		t.Errorf("General has %d items", len(general.Items))
	}
}
