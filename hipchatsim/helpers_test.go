package hipchatsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
)

// clock is a test clock that moves only when told.
type clock = manualclock.Clock

func newClock() *clock {
	return manualclock.New(time.Date(2018, 1, 10, 9, 35, 50, 702319000, time.UTC))
}

// sequentialIDs returns an id source that counts, so golden bodies are stable.
func sequentialIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
}

// sim is an emulator under test, reached over real HTTP.
type sim struct {
	t     testing.TB
	srv   *Server
	ts    *httptest.Server
	clock *clock
	admin string
}

const testAdminToken = "admin-token-0123456789"

// newSim starts an emulator with no limits, a frozen clock and sequential ids; edit changes the
// options first.
func newSim(t testing.TB, edit ...func(*Options)) *sim {
	t.Helper()
	clk := newClock()
	opts := Options{AdminToken: testAdminToken, Now: clk.Now, newID: sequentialIDs()}
	for _, e := range edit {
		e(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &sim{t: t, srv: srv, ts: ts, clock: clk, admin: srv.AdminToken()}
}

// with returns s reporting to t (a subtest).
func (s *sim) with(t testing.TB) *sim {
	c := *s
	c.t = t
	return &c
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// errorMessage returns error.message of an error body.
func (r response) errorMessage(t testing.TB) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// do sends a request. body may be nil, a string (sent as is, JSON content type) or anything else
// (encoded as JSON). token "" sends none.
func (s *sim) do(method, path, token string, body any) response {
	s.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(enc), "application/json"
	}
	return s.send(method, path, token, contentType, rd)
}

func (s *sim) send(method, path, token, contentType string, body io.Reader) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends a request and fails the test unless the status is want.
func (s *sim) must(want int, method, path, token string, body any) response {
	s.t.Helper()
	r := s.do(method, path, token, body)
	if r.status != want {
		s.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, want, r.body)
	}
	return r
}

// createUser makes a user with a password and returns its id.
func (s *sim) createUser(name, email, mention string) int {
	s.t.Helper()
	body := map[string]any{"name": name, "email": email, "password": "secret-" + mention}
	if mention != "" {
		body["mention_name"] = mention
	}
	r := s.must(http.StatusCreated, "POST", "/v2/user", s.admin, body)
	return int(r.json(s.t)["id"].(float64))
}

// userToken gets a user token with grant_type=password for a user made by createUser.
func (s *sim) userToken(email, mention string, scopes ...string) string {
	s.t.Helper()
	form := "grant_type=password&username=" + email + "&password=secret-" + mention
	if len(scopes) > 0 {
		form += "&scope=" + strings.Join(scopes, "+")
	}
	r := s.send("POST", "/v2/oauth/token", "", "application/x-www-form-urlencoded", strings.NewReader(form))
	if r.status != http.StatusOK {
		s.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(s.t)["access_token"].(string)
}

// createRoom makes a room as token and returns its id.
func (s *sim) createRoom(token, name, privacy string) int {
	s.t.Helper()
	r := s.must(http.StatusCreated, "POST", "/v2/room", token, map[string]any{"name": name, "privacy": privacy})
	return int(r.json(s.t)["id"].(float64))
}

// post posts a message and returns its id.
func (s *sim) post(token, room, text string) string {
	s.t.Helper()
	r := s.must(http.StatusCreated, "POST", "/v2/room/"+room+"/message", token, map[string]any{"message": text})
	return r.json(s.t)["id"].(string)
}

// historyPage is a decoded history answer.
type historyPage struct {
	Items []struct {
		ID      string          `json:"id"`
		Date    string          `json:"date"`
		Message *string         `json:"message"`
		From    json.RawMessage `json:"from"`
		Type    string          `json:"type"`
		File    *struct {
			Name     string `json:"name"`
			Size     int    `json:"size"`
			URL      string `json:"url"`
			ThumbURL string `json:"thumb_url"`
		} `json:"file"`
	} `json:"items"`
	StartIndex int `json:"startIndex"`
	MaxResults int `json:"maxResults"`
	Links      struct {
		Self string `json:"self"`
		Next string `json:"next"`
		Prev string `json:"prev"`
	} `json:"links"`
}

func (s *sim) history(token, pathAndQuery string) historyPage {
	s.t.Helper()
	r := s.must(http.StatusOK, "GET", pathAndQuery, token, nil)
	var p historyPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		s.t.Fatalf("history: %v\n%s", err, r.body)
	}
	return p
}

func (p historyPage) ids() []string {
	out := make([]string, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.ID
	}
	return out
}
