package hipchatsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPostMessage(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "General", "public")
	s.createUser("Ann Lee", "ann@example.com", "ann")
	tests := []struct {
		name       string
		body       any
		wantStatus int
		check      func(*testing.T, response)
	}{
		{"ok", map[string]any{"message": "hi @ann and @nobody"}, 201, func(t *testing.T, r response) {
			m := r.json(t)
			if len(m["id"].(string)) != 36 || m["timestamp"] != "2018-01-10T09:35:50.702319+00:00" {
				t.Errorf("answer %v", m)
			}
		}},
		{"unknown fields are ignored", map[string]any{"message": "x", "room_id": 1, "notify": true}, 201, nil},
		{"1000 characters", map[string]any{"message": strings.Repeat("é", 1000)}, 201, nil},
		{"1001 characters", map[string]any{"message": strings.Repeat("é", 1001)}, 400, wantInvalid("message")},
		{"empty", map[string]any{"message": ""}, 400, wantInvalid("message")},
		{"missing", map[string]any{}, 400, func(t *testing.T, r response) {
			e := r.json(t)["error"].(map[string]any)
			if e["message"] != "Required field 'message' is missing" || e["field"] != "message" || e["validation"] != "optional" || e["value"] != nil {
				t.Errorf("error %v", e)
			}
		}},
		{"not a string", map[string]any{"message": 42}, 400, wantInvalid("message")},
		{"not JSON", "message=hi", 400, wantError("The request body cannot be parsed as valid JSON")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.with(t).do("POST", "/v2/room/General/message", s.admin, tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
	r := s.send("POST", "/v2/room/General/message", s.admin, "", strings.NewReader(`{"message":"x"}`))
	if r.status != 400 || r.errorMessage(t) != "Invalid content type" {
		t.Errorf("no content type: %d %s", r.status, r.body)
	}
	if r := s.do("POST", "/v2/room/Nowhere/message", s.admin, map[string]any{"message": "x"}); r.status != 404 {
		t.Errorf("unknown room: %d", r.status)
	}
	latest := s.must(200, "GET", "/v2/room/General/history/latest?max-results=1000", s.admin, nil)
	var page struct {
		Items []map[string]any `json:"items"`
	}
	json.Unmarshal(latest.body, &page)
	first := page.Items[0]
	mentions := first["mentions"].([]any)
	if len(mentions) != 1 || mentions[0].(map[string]any)["mention_name"] != "ann" {
		t.Errorf("mentions %v", mentions)
	}
	if _, ok := first["message_format"]; ok || first["type"] != "message" || first["from"].(map[string]any)["id"] != float64(1) {
		t.Errorf("user message %v", first)
	}
}

func TestNotification(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	s.clock.Advance(time.Hour) // after the fixture messages
	s.must(204, "POST", "/v2/room/General/notification", s.admin, map[string]any{"message": "<b>deployed</b>", "from": "Jenkins", "color": "green",
		"card": map[string]any{"style": "link", "url": "https://example.com", "title": "Build 7", "id": "build-7",
			"description": "Deployed to production"}, "attach_to": "1e9e3b67-f09a-4c6f-919c-90a91ebc9448"})
	s.must(204, "POST", "/v2/room/General/notification", "general-notify-token", map[string]any{"message": "plain", "message_format": "text"})
	s.must(204, "POST", "/v2/room/General/notification", s.admin, map[string]any{"message": "any color", "color": "random"})
	for body, field := range map[string]string{
		`{"message":""}`:                                           "message",
		`{"message":"x","color":"pink"}`:                           "color",
		`{"message":"x","message_format":"md"}`:                    "message_format",
		`{"message":"x","from":"` + strings.Repeat("f", 65) + `"}`: "from",
		`{"message":"x","card":"no"}`:                              "card",
		`{"message":"x","card":{"style":"poster"}}`:                "card",
		`{"message":"x","notify":"yes"}`:                           "notify",
	} {
		r := s.do("POST", "/v2/room/General/notification", s.admin, body)
		if r.status != 400 || r.json(t)["error"].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %s, want 400 naming %s", body, r.status, r.body, field)
		}
	}
	var page struct {
		Items []map[string]any `json:"items"`
	}
	json.Unmarshal(s.must(200, "GET", "/v2/room/General/history/latest?max-results=3", s.admin, nil).body, &page)
	n := page.Items[0]
	card, ok := n["card"].(string)
	if n["type"] != "notification" || n["from"] != "Jenkins" || n["color"] != "green" || n["message_format"] != "html" || !ok || n["attach_to"] == nil {
		t.Errorf("notification %v", n)
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(card), &decoded); err != nil || decoded["title"] != "Build 7" {
		t.Errorf("card is not the JSON string of the card: %q", card)
	}
	if page.Items[1]["from"] != "Jenkins" || page.Items[1]["message_format"] != "text" || page.Items[1]["color"] != "yellow" {
		t.Errorf("room token notification %v", page.Items[1])
	}
	if c := page.Items[2]["color"].(string); !strings.Contains("yellow green red purple gray", c) {
		t.Errorf("random color %q", c)
	}
	if m, _ := page.Items[0]["mentions"].([]any); m == nil || len(m) != 0 {
		t.Errorf("notification mentions %v", page.Items[0]["mentions"])
	}
}

const pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

func TestShareFile(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Files", "public")
	png, _ := base64.StdEncoding.DecodeString(pngBase64)
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantName    string
		wantMessage string
		wantSize    int
		wantThumb   bool
	}{
		{"documented layout, CRLF, raw bytes", "multipart/related; boundary=boundary123456", crlf("--boundary123456\n"+
			"Content-Type: application/json; charset=UTF-8\nContent-Disposition: attachment; name=\"metadata\"\n\n"+
			`{"message": "Check out this file upload!"}`+"\n--boundary123456\n"+
			"Content-Type: image/png\nContent-Disposition: attachment; name=\"file\"; filename=\"upload.png\"\n\n") +
			string(png) + "\r\n--boundary123456--\r\n", 204, "upload.png", "Check out this file upload!", len(png), true},
		{"LF, base64, no closing dashes (hipchat-go)", "multipart/related; boundary=xyz",
			"--xyz\nContent-Type: application/json; charset=UTF-8\nContent-Disposition: attachment; name=\"metadata\"\n\n{\"message\":\"b64\"}\n" +
				"--xyz\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; name=\"file\"; filename=\"notes.txt\"\n\n" +
				base64.StdEncoding.EncodeToString([]byte("hello notes")) + "\n--xyz\n", 204, "notes.txt", "b64", 11, false},
		{"file only", "multipart/related; boundary=b", "--b\nContent-Disposition: attachment; name=\"file\"; filename=\"r\u00e9sum\u00e9 2018.pdf\"\n\n%PDF-1.4\n--b--\n",
			204, "résumé 2018.pdf", "", 8, false},
		{"no file part", "multipart/related; boundary=b", "--b\nContent-Type: application/json\n\n{\"message\":\"x\"}\n--b--\n", 400, "", "", 0, false},
		{"not multipart", "application/json", `{"message":"x"}`, 400, "", "", 0, false},
		{"bad metadata", "multipart/related; boundary=b", "--b\nContent-Type: application/json\n\n{nope\n--b\nContent-Disposition: attachment; name=\"file\"; filename=\"a\"\n\nx\n--b--\n", 400, "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := s.with(t)
			r := s.send("POST", "/v2/room/Files/share/file", s.admin, tt.contentType, strings.NewReader(tt.body))
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus != 204 {
				return
			}
			p := s.history(s.admin, "/v2/room/Files/history/latest?max-results=1")
			it := p.Items[0]
			if it.Type != "message" || it.File == nil || it.File.Name != tt.wantName || it.File.Size != tt.wantSize || *it.Message != tt.wantMessage {
				t.Fatalf("item %+v file %+v", it, it.File)
			}
			if (it.File.ThumbURL != "") != tt.wantThumb {
				t.Errorf("thumb_url %q", it.File.ThumbURL)
			}
			resp, err := http.Get(it.File.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(b) != tt.wantSize {
				t.Errorf("file url %s: %d, %d bytes", it.File.URL, resp.StatusCode, len(b))
			}
		})
	}
	if r := s.send("POST", "/v2/room/Files/share/file", "", "multipart/related; boundary=b", strings.NewReader("")); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
}

func TestShareLinkAndReply(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Links", "public")
	s.must(204, "POST", "/v2/room/Links/share/link", s.admin, map[string]any{"link": "https://example.com/a", "message": "see"})
	if r := s.do("POST", "/v2/room/Links/share/link", s.admin, map[string]any{"link": "example.com"}); r.status != 400 {
		t.Errorf("relative link: %d", r.status)
	}
	var page struct {
		Items []map[string]any `json:"items"`
	}
	json.Unmarshal(s.must(200, "GET", "/v2/room/Links/history/latest", s.admin, nil).body, &page)
	link := page.Items[0]
	if link["message"] != "see https://example.com/a" || link["message_links"] == nil {
		t.Errorf("shared link %v", link)
	}
	s.must(204, "POST", "/v2/room/Links/reply", s.admin, map[string]any{"parentMessageId": link["id"], "message": "nice"})
	if r := s.do("POST", "/v2/room/Links/reply", s.admin, map[string]any{"parentMessageId": "nope", "message": "x"}); r.status != 400 {
		t.Errorf("reply to nothing: %d", r.status)
	}
	if got := len(s.history(s.admin, "/v2/room/Links/history/latest").Items); got != 2 {
		t.Errorf("%d items", got)
	}
}

// A share takes a file of up to HipChat's 50 MiB (the limit the connector's ShareFileWithRoom
// applies too) and refuses a larger one with 413.
func TestShareFileTakesUpTo50MiB(t *testing.T) {
	s := newSim(t)
	s.createRoom(s.admin, "Big", "public")
	body := func(size int) io.Reader {
		head := "--b\r\nContent-Disposition: attachment; name=\"file\"; filename=\"big.bin\"\r\n\r\n"
		return io.MultiReader(strings.NewReader(head), bytes.NewReader(make([]byte, size)), strings.NewReader("\r\n--b--\r\n"))
	}
	if r := s.send("POST", "/v2/room/Big/share/file", s.admin, "multipart/related; boundary=b", body(50<<20)); r.status != 204 {
		t.Fatalf("50 MiB: %d %s", r.status, r.body)
	}
	if r := s.send("POST", "/v2/room/Big/share/file", s.admin, "multipart/related; boundary=b", body(50<<20+1)); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("50 MiB and a byte: %d %s", r.status, r.body)
	}
}

// An @ inside an email address is not a mention: "write to bob@example.com" mentions no user named
// example; an @mention after punctuation or at the start is one.
func TestAnEmailIsNotAMention(t *testing.T) {
	s := newSim(t)
	s.createUser("Ann Lee", "ann@example.com", "ann")
	s.createUser("Example Bot", "bot@example.com", "example")
	s.createRoom(s.admin, "Mail", "public")
	mentioned := func(text string) []string {
		t.Helper()
		s.must(201, "POST", "/v2/room/Mail/message", s.admin, map[string]any{"message": text})
		var page struct {
			Items []struct {
				Mentions []struct {
					MentionName string `json:"mention_name"`
				} `json:"mentions"`
			} `json:"items"`
		}
		if err := json.Unmarshal(s.must(200, "GET", "/v2/room/Mail/history/latest?max-results=1", s.admin, nil).body, &page); err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, m := range page.Items[0].Mentions {
			names = append(names, m.MentionName)
		}
		return names
	}
	if got := mentioned("write to bob@example.com"); len(got) != 0 {
		t.Errorf("an email mentions %v", got)
	}
	if got := mentioned("@ann, (@example) and ann@example"); strings.Join(got, " ") != "ann example" {
		t.Errorf("mentions %v, want ann and example", got)
	}
}
