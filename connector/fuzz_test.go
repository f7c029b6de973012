package connector_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// fakeAnswer is what the fake HipChat of the fuzz targets answers next.
type fakeAnswer struct {
	status                       int
	retryAfter, remaining, reset string
	contentType                  string
	body                         []byte
}

// fakeHipChat answers every request with the current fakeAnswer.
type fakeHipChat struct {
	mu     sync.Mutex
	answer fakeAnswer
}

func (h *fakeHipChat) set(a fakeAnswer) {
	h.mu.Lock()
	h.answer = a
	h.mu.Unlock()
}

func (h *fakeHipChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	a := h.answer
	h.mu.Unlock()
	for k, v := range map[string]string{"Retry-After": a.retryAfter, "X-Ratelimit-Remaining": a.remaining,
		"X-Ratelimit-Reset": a.reset, "X-Ratelimit-Limit": "100", "Content-Type": a.contentType} {
		if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// FuzzClientReadsHipChatAnswers: whatever HipChat answers (any status, truncated or wrong-typed
// JSON, odd rate-limit headers, links.next anywhere), every client call returns a value or a
// *connector.Error, never a panic and never a hang.
func FuzzClientReadsHipChatAnswers(f *testing.F) {
	fake := &fakeHipChat{}
	ts := httptest.NewServer(fake)
	f.Cleanup(ts.Close)
	// One client for every input (its connections kept alive, so an input is a few local round
	// trips); each input gets a connection of its own, so an earlier 429 does not hold it back.
	client := connector.NewClient(connector.ClientOptions{Timeout: 2 * time.Second, MaxPages: 3,
		Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 20})})
	var inputs atomic.Int64

	f.Add(200, "", "", "", []byte(`{"items":[{"id":1,"name":"Ops","privacy":"public","is_archived":false}],"links":{"self":"x"}}`))
	f.Add(200, "", "99", "1412564640.0", []byte(`{"items":[{"id":"a","date":"2018-01-10T09:35:50.702319+00:00","message":"hi","from":{"id":2,"name":"Ann"},"type":"message"}]}`))
	f.Add(200, "", "", "", []byte(`{"items":[{"id":1}],"links":{"next":"/v2/room?start-index=1"}}`))
	f.Add(200, "", "", "", []byte(`{"items":[{"id":1}],"links":{"next":"http://elsewhere.example/v2/room"}}`))
	f.Add(200, "", "", "", []byte(`{"items":[{"id":1,"name":`))
	f.Add(200, "", "", "", []byte(`{"items":"not a list"}`))
	f.Add(200, "", "", "", []byte(`{"id":"x","timestamp":17}`))
	f.Add(201, "", "", "", []byte(``))
	f.Add(204, "", "", "", []byte(`garbage`))
	f.Add(404, "", "", "", []byte(`{"error":{"code":404,"message":"Room not found","type":"Not Found"}}`))
	f.Add(401, "", "", "", []byte(`{"error":{"code":401,"message":"Invalid OAuth session"}}`))
	f.Add(429, "", "0", "1412564640.0", []byte(`{"error":{"code":429,"message":"Rate Limit exceeded"}}`))
	f.Add(429, "-5", "", "", []byte(``))
	f.Add(429, "99999999999999999999", "0", "1e308", []byte(`{}`))
	f.Add(500, "", "", "", []byte(`<html>oops</html>`))
	f.Add(302, "", "", "", []byte(``))
	f.Add(200, "", "-1", "NaN", []byte(`null`))
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining string, reset string, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		fake.set(fakeAnswer{status: status, retryAfter: retryAfter, remaining: remaining, reset: reset,
			contentType: "application/json", body: body})
		conn := connector.NewConnection("fuzz-token-"+strconv.FormatInt(inputs.Add(1), 10), ts.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		check := func(call string, err error) {
			var e *connector.Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("%s: %v is not a *connector.Error", call, err)
			}
		}
		_, err := client.ListRooms(ctx, conn, true)
		check("ListRooms", err)
		_, err = client.ListMembers(ctx, conn, "1")
		check("ListMembers", err)
		_, err = client.GetUser(ctx, conn, "@ann")
		check("GetUser", err)
		_, err = client.PostMessage(ctx, conn, "1", "hello")
		check("PostMessage", err)
		check("AddMember", client.AddMember(ctx, conn, "1", "@ann"))
		_, err = client.LatestHistory(ctx, conn, "1", "", 10)
		check("LatestHistory", err)
		_, _, err = client.HistoryBefore(ctx, conn, "1", time.Date(2018, 1, 10, 0, 0, 0, 0, time.UTC), time.Time{}, 0, 10)
		check("HistoryBefore", err)
		if ctx.Err() != nil {
			t.Fatal("the calls did not finish in 5 s")
		}
	})
}
