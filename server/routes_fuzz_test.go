package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/server"
)

// fuzzRoute is a route with its path parameters filled from the fuzzer's ids.
type fuzzRoute struct {
	method string
	path   func(a, b string) string
	body   bool
}

// fuzzRoutes is every route of routes.go that reads outside input (path ids, query, body).
var fuzzRoutes = []fuzzRoute{
	{"GET", func(a, _ string) string { return "/rooms/" + a + "/members" }, false},
	{"PUT", func(a, b string) string { return "/rooms/" + a + "/members/" + b }, false},
	{"POST", func(a, _ string) string { return "/rooms/" + a + "/messages" }, true},
	{"GET", func(a, _ string) string { return "/users/" + a }, false},
	{"GET", func(a, b string) string { return "/triggers/rooms/" + a + "/messages?state=" + b }, false},
	{"GET", func(a, b string) string { return "/triggers/rooms/" + a + "/files?state=" + b }, false},
	{"GET", func(_, b string) string { return "/triggers/rooms?state=" + b }, false},
	{"POST", func(a, _ string) string { return "/subscriptions/rooms/" + a + "/messages" }, true},
	{"POST", func(a, _ string) string { return "/subscriptions/rooms/" + a + "/files" }, true},
	{"POST", func(_, _ string) string { return "/subscriptions/rooms" }, true},
	{"GET", func(a, _ string) string { return "/subscriptions/" + a }, false},
	{"DELETE", func(a, _ string) string { return "/subscriptions/" + a }, false},
	{"GET", func(a, _ string) string { return "/subscriptions/" + a + "/deliveries" }, false},
	{"POST", func(a, b string) string { return "/subscriptions/" + a + "/deliveries/" + b + "/resend" }, false},
	{"POST", func(a, _ string) string { return "/subscriptions/" + a + "/test" }, false},
	{"POST", func(a, _ string) string { return "/subscriptions/" + a + "/pause" }, false},
	{"POST", func(a, _ string) string { return "/subscriptions/" + a + "/resume" }, false},
	{"POST", func(a, _ string) string { return "/subscriptions/" + a + "/recover" }, true},
	{"POST", func(a, _ string) string { return "/subscriptions/" + a + "/rotate-secret" }, false},
}

// FuzzRoutes sends fuzzed path ids, trigger states and bodies through the whole HTTP API (routes,
// middleware, handlers) in front of a healthy emulator: nothing answers 5xx, and every 4xx is the
// one JSON error shape with a code.
func FuzzRoutes(f *testing.F) {
	gin.SetMode(gin.TestMode)
	emu, err := hipchatsim.New(hipchatsim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	hipchat := httptest.NewServer(emu)
	f.Cleanup(hipchat.Close)
	ctx := context.Background()
	sim := simclient.New(hipchat.URL)
	ann, err := sim.NewPerson(ctx, emu.AdminToken(), "Ann Fuzz", "ann")
	if err != nil {
		f.Fatal(err)
	}
	room, err := sim.CreateRoom(ctx, ann.Token, "Fuzz Room", "public")
	if err != nil {
		f.Fatal(err)
	}
	store := testkit.OpenStore(f, nil)
	client := connector.NewClient(connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})})
	srv, err := server.New(server.Options{HipChatURL: hipchat.URL, PublicURL: "http://connector.test", Logger: slog.New(slog.DiscardHandler)},
		server.Deps{Client: client, StateKey: bytes.Repeat([]byte{3}, 32), Store: store})
	if err != nil {
		f.Fatal(err)
	}
	handler := srv.Handler()

	roomID := strconv.Itoa(room)
	f.Add(uint8(0), roomID, "", []byte(nil))
	f.Add(uint8(1), roomID, "@ann", []byte(nil))
	f.Add(uint8(2), roomID, "", []byte(`{"message":"hello"}`))
	f.Add(uint8(2), "Fuzz Room", "", []byte(`{"message":`+strconv.Quote(strings.Repeat("x", 1001))+`}`))
	f.Add(uint8(3), "ann@example.com", "", []byte(nil))
	f.Add(uint8(3), "-1", "", []byte(nil))
	f.Add(uint8(4), roomID, "eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", []byte(nil))
	f.Add(uint8(6), "", "%%%", []byte(nil))
	f.Add(uint8(7), roomID, "", []byte(`{"callbackUrl":"http://169.254.169.254/"}`))
	f.Add(uint8(7), "99999999999999999999", "", []byte(`{"callbackUrl":"https://93.184.216.34/hook"}`))
	f.Add(uint8(11), "../../etc/passwd", "", []byte(nil))
	f.Add(uint8(13), "sub_x", "del_y", []byte(nil))
	f.Add(uint8(17), "sub_x", "", []byte(`{"since":"yesterday"}`))
	f.Add(uint8(18), "\x00", "", []byte(nil))
	f.Fuzz(func(t *testing.T, which uint8, a, b string, body []byte) {
		rt := fuzzRoutes[int(which)%len(fuzzRoutes)]
		target := rt.path(url.PathEscape(a), url.QueryEscape(b))
		if strings.Contains(target, "/deliveries/") {
			target = rt.path(url.PathEscape(a), url.PathEscape(b))
		}
		var reader *bytes.Reader
		if rt.body {
			reader = bytes.NewReader(body)
		} else {
			reader = bytes.NewReader(nil)
		}
		req, err := http.NewRequest(rt.method, "http://connector.test"+target, reader)
		if err != nil {
			t.Skip("not a request a client can send:", err)
		}
		req.Header.Set("Authorization", "Bearer "+ann.Token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", rt.method, target, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var shape struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &shape); err != nil || shape.Error.Code == "" || shape.Error.Message == "" {
				t.Fatalf("%s %s: %d without the error shape: %s", rt.method, target, rec.Code, rec.Body)
			}
		}
	})
}
