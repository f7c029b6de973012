package hipchatsim

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// benchClient sends many concurrent requests over loopback keep-alive connections.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

// runLoopback runs RunParallel with newRequest and reports requests per second.
func runLoopback(b *testing.B, newRequest func() *http.Request, wantStatus int) {
	client := benchClient()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Do(newRequest())
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != wantStatus {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkHistoryLatest measures GET /v2/room/{room}/history/latest (75 messages of a 1,000-message
// room, the default page) over loopback with parallel clients.
func BenchmarkHistoryLatest(b *testing.B) {
	s, _ := bigRoom(b, 1000)
	url := s.ts.URL + "/v2/room/Big/history/latest"
	runLoopback(b, func() *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+s.admin)
		return req
	}, http.StatusOK)
}

// BenchmarkPostMessage measures POST /v2/room/{room}/message over loopback with parallel clients.
func BenchmarkPostMessage(b *testing.B) {
	s := newSim(b)
	s.createRoom(s.admin, "Bench", "public")
	url := s.ts.URL + "/v2/room/Bench/message"
	body := []byte(`{"message":"benchmark message with a little text in it"}`)
	runLoopback(b, func() *http.Request {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.admin)
		req.Header.Set("Content-Type", "application/json")
		return req
	}, http.StatusCreated)
}

// BenchmarkNotificationWithCard measures POST /v2/room/{room}/notification with a full application
// card — description, thumbnail, activity, icon and three attributes — which is decoded and checked
// against HipChat's card schema before it is stored (204). BenchmarkPostMessage is its yardstick.
func BenchmarkNotificationWithCard(b *testing.B) {
	s := newSim(b)
	s.createRoom(s.admin, "Bench", "public")
	url := s.ts.URL + "/v2/room/Bench/notification"
	body := []byte(`{"message":"build 42 passed","color":"green","notify":false,"from":"CI","card":{` +
		`"style":"application","id":"build-42","title":"Build 42 passed","url":"https://ci.example.com/42","format":"medium",` +
		`"description":{"value":"<b>42</b> passed in 3 minutes","format":"html"},"icon":{"url":"https://ci.example.com/i.png"},` +
		`"thumbnail":{"url":"https://ci.example.com/t.png","width":64,"height":64},"activity":{"html":"<b>CI</b> built 42"},` +
		`"attributes":[{"label":"branch","value":{"label":"main"}},{"label":"status","value":{"label":"passed","style":"lozenge-success"}},` +
		`{"label":"took","value":{"label":"3 min","url":"https://ci.example.com/42/timing"}}]}}`)
	runLoopback(b, func() *http.Request {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.admin)
		req.Header.Set("Content-Type", "application/json")
		return req
	}, http.StatusNoContent)
}
