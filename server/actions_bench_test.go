package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/server"
)

// benchAction is one action of BenchmarkEachActionOverhead: the request through the connector and
// the same HipChat call(s) made directly, for the i-th call with token.
type benchAction struct {
	name   string
	via    func(i int, token string) *http.Request
	direct func(i int, token string) []*http.Request // CreateRoom is two HipChat calls: the create, then a read
}

// BenchmarkEachActionOverhead measures, for each action of issue 24, the latency the connector adds
// over calling HipChat directly. In one run, per action, 32 concurrent callers make b.N direct calls
// (the HipChat call or calls the action makes) interleaved with b.N of the action through the
// connector, round-robin over 1,000 connections (100 users × 10 personal tokens), the emulator
// answering every call after 20 ms (a stand-in for the internet). It reports both latency
// distributions and their difference at p50 and p99.
//
// The connector is the server as serve builds it (the default per-connection limiter, the call
// metrics, the JSON access log written out) over real HTTP. Its gate for tokens HipChat has not yet
// accepted is opened wide: the whole program lets a burst of new tokens in and then one every 2 s,
// which would make warming 1,000 connections take half an hour; every connection here is one HipChat
// has accepted, as a connection in use is. Keep b.N at most 10,000 so that no connection leaves its
// budget (about 15 calls per connection per action):
//
//	go test -run '^$' -bench BenchmarkEachActionOverhead -benchtime=2000x ./server/
func BenchmarkEachActionOverhead(b *testing.B) {
	const (
		callers     = 32
		connections = 1000
		users       = 100
		delay       = 20 * time.Millisecond
	)
	hipchatURL, sim, public, parent, tokens, roomOf := benchWorld(b, users, connections/users)
	connectorURL := startBenchConnector(b, hipchatURL)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * callers, MaxIdleConns: 4 * callers}, Timeout: 30 * time.Second}
	if _, err := measureAll(client, callers, len(tokens), tokens, func(_ int, token string) []*http.Request {
		return []*http.Request{benchRequest("GET", connectorURL+"/connection", token, "", nil)}
	}); err != nil {
		b.Fatal(err)
	}
	if err := sim.InjectFault(context.Background(), simclient.Fault{DelayMS: int(delay.Milliseconds())}); err != nil {
		b.Fatal(err)
	}

	var rooms atomic.Int64
	for _, a := range benchActions(connectorURL, hipchatURL, public, parent, roomOf, &rooms) {
		b.Run(a.name, func(b *testing.B) {
			mixed, err := measureAll(client, callers, 2*b.N, tokens, func(i int, token string) []*http.Request {
				if i%2 == 0 {
					return a.direct(i, token)
				}
				return []*http.Request{a.via(i, token)}
			})
			if err != nil {
				b.Fatal(err)
			}
			var direct, via []time.Duration
			for i, l := range mixed {
				if i%2 == 0 {
					direct = append(direct, l)
				} else {
					via = append(via, l)
				}
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			dp50, dp99, vp50, vp99 := testkit.Percentile(direct, 50), testkit.Percentile(direct, 99), testkit.Percentile(via, 50), testkit.Percentile(via, 99)
			b.ReportMetric(ms(dp50), "direct-p50-ms")
			b.ReportMetric(ms(dp99), "direct-p99-ms")
			b.ReportMetric(ms(vp50), "action-p50-ms")
			b.ReportMetric(ms(vp99), "action-p99-ms")
			b.ReportMetric(ms(vp50-dp50), "added-p50-ms")
			b.ReportMetric(ms(vp99-dp99), "added-p99-ms")
		})
	}
}

// benchWorld starts the emulator with an owner of a public room (with one message, to reply to),
// a user @target, and users each with a private room and perUser personal tokens. It returns the
// emulator's URL, its client, the public room, the message, every token and each token's private
// room.
func benchWorld(b *testing.B, users, perUser int) (string, *simclient.Client, string, string, []string, map[string]string) {
	ctx := context.Background()
	emu, err := hipchatsim.New(hipchatsim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	hipchat := httptest.NewServer(emu)
	b.Cleanup(hipchat.Close)
	sim, admin := simclient.New(hipchat.URL), emu.AdminToken()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	person := func(mention string) simclient.Person {
		p, err := sim.NewPerson(ctx, admin, "User "+mention, mention)
		must(err)
		return p
	}
	owner := person("owner")
	person("target")
	roomID, err := sim.CreateRoom(ctx, owner.Token, "Bench", "public")
	must(err)
	public := strconv.Itoa(roomID)
	parent, err := sim.PostMessage(ctx, owner.Token, public, "the message replied to")
	must(err)
	var tokens []string
	roomOf := map[string]string{}
	for u := range users {
		p := person(fmt.Sprintf("user%d", u))
		id, err := sim.CreateRoom(ctx, p.Token, "Private "+p.Mention, "private")
		must(err)
		for t := range perUser {
			token := p.Token
			if t > 0 {
				token, err = sim.PersonalToken(ctx, admin, p.Email)
				must(err)
			}
			tokens = append(tokens, token)
			roomOf[token] = strconv.Itoa(id)
		}
	}
	return hipchat.URL, sim, public, parent, tokens, roomOf
}

// startBenchConnector serves the connector's API as serve builds it, over real HTTP, and returns its
// URL.
func startBenchConnector(b *testing.B, hipchatURL string) string {
	registry := prometheus.NewRegistry()
	client, err := connector.NewInstrumentedClient(connector.ClientOptions{
		Limiter: connector.NewLimiter(connector.DefaultLimiterOptions()), Registerer: registry,
		UnverifiedPerSecond: 1e6, UnverifiedBurst: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	api := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Options{HipChatURL: hipchatURL, PublicURL: "http://" + api.Listener.Addr().String(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, server.Deps{Client: client, Registry: registry})
	if err != nil {
		b.Fatal(err)
	}
	api.Config.Handler = srv.Handler()
	api.Start()
	b.Cleanup(api.Close)
	return api.URL
}

// benchActions are the actions measured, each beside the HipChat call(s) it makes.
func benchActions(connectorURL, hipchatURL, room, parent string, roomOf map[string]string, rooms *atomic.Int64) []benchAction {
	via := func(method, path, body string) func(int, string) *http.Request {
		return func(_ int, token string) *http.Request {
			return benchRequest(method, connectorURL+path, token, "application/json", strings.NewReader(body))
		}
	}
	direct := func(method, path, body string) func(int, string) []*http.Request {
		return func(_ int, token string) []*http.Request {
			var reader io.Reader
			contentType := ""
			if body != "" {
				reader, contentType = strings.NewReader(body), "application/json"
			}
			return []*http.Request{benchRequest(method, hipchatURL+path, token, contentType, reader)}
		}
	}
	card := `"card":{"style":"application","title":"Build #7","url":"https://ci.example.com/7","format":"compact"}`
	hipchatCard := `"card":{"style":"application","id":"b7","title":"Build #7","url":"https://ci.example.com/7","format":"compact"}`
	file := bytes.Repeat([]byte("release notes\n"), 73) // 1,022 bytes
	fileJSON := `{"fileName":"notes.txt","fileContent":"` + base64.StdEncoding.EncodeToString(file) + `","message":"the notes"}`
	return []benchAction{
		{name: "SendNotification", via: via("POST", "/rooms/"+room+"/notifications", `{"message":"build #7 passed","color":"green","from":"CI",`+card+`}`),
			direct: direct("POST", "/v2/room/"+room+"/notification", `{"message":"build #7 passed","color":"green","from":"CI","notify":false,`+hipchatCard+`}`)},
		{name: "ReplyToMessage", via: via("POST", "/rooms/"+room+"/replies", `{"parentMessageId":"`+parent+`","message":"on it"}`),
			direct: direct("POST", "/v2/room/"+room+"/reply", `{"parentMessageId":"`+parent+`","message":"on it"}`)},
		{name: "SendPrivateMessage", via: via("POST", "/users/@target/messages", `{"message":"you are on call"}`),
			direct: direct("POST", "/v2/user/@target/message", `{"message":"you are on call","notify":false}`)},
		{name: "ShareLinkWithRoom", via: via("POST", "/rooms/"+room+"/links", `{"link":"https://status.example.com/7"}`),
			direct: direct("POST", "/v2/room/"+room+"/share/link", `{"link":"https://status.example.com/7"}`)},
		{name: "ShareFileWithRoom", via: via("POST", "/rooms/"+room+"/files", fileJSON),
			direct: func(_ int, token string) []*http.Request {
				body, contentType := benchMultipart(file)
				return []*http.Request{benchRequest("POST", hipchatURL+"/v2/room/"+room+"/share/file", token, contentType, bytes.NewReader(body))}
			}},
		{name: "SetRoomTopic", via: via("PUT", "/rooms/"+room+"/topic", `{"topic":"release 7"}`),
			direct: direct("PUT", "/v2/room/"+room+"/topic", `{"topic":"release 7"}`)},
		{name: "CreateRoom",
			via: func(_ int, token string) *http.Request {
				name := fmt.Sprintf("Bench room %d", rooms.Add(1))
				return benchRequest("POST", connectorURL+"/rooms", token, "application/json", strings.NewReader(`{"name":"`+name+`"}`))
			},
			direct: func(_ int, token string) []*http.Request {
				name := fmt.Sprintf("Bench room %d", rooms.Add(1))
				create := benchRequest("POST", hipchatURL+"/v2/room", token, "application/json", strings.NewReader(`{"name":"`+name+`","guest_access":false}`))
				read := benchRequest("GET", hipchatURL+"/v2/room/"+url.PathEscape(name), token, "", nil) // the id is not known yet: by name
				return []*http.Request{create, read}
			}},
		{name: "GetRoom", via: via("GET", "/rooms/"+room, ""), direct: direct("GET", "/v2/room/"+room, "")},
		{name: "GetRecentMessages", via: via("GET", "/rooms/"+room+"/messages?maxResults=10", ""),
			direct: direct("GET", "/v2/room/"+room+"/history/latest?max-results=10&include_deleted=false", "")},
		{name: "RemoveUserFromRoom",
			via: func(_ int, token string) *http.Request {
				return benchRequest("DELETE", connectorURL+"/rooms/"+roomOf[token]+"/members/@target", token, "", nil)
			},
			direct: func(_ int, token string) []*http.Request {
				return []*http.Request{benchRequest("DELETE", hipchatURL+"/v2/room/"+roomOf[token]+"/member/@target", token, "", nil)}
			}},
		{name: "InviteUserToRoom", via: via("POST", "/rooms/"+room+"/invitations/@target", `{"reason":"the launch"}`),
			direct: direct("POST", "/v2/room/"+room+"/invite/@target", `{"reason":"the launch"}`)},
		{name: "ListAllUsers", via: via("GET", "/users", ""),
			direct: direct("GET", "/v2/user?include-deleted=false&include-guests=false&max-results=1000", "")},
		{name: "TestConnection", via: via("GET", "/connection", ""),
			direct: func(_ int, token string) []*http.Request {
				return []*http.Request{benchRequest("GET", hipchatURL+"/v2/oauth/token/"+token, token, "", nil)}
			}},
	}
}

func benchRequest(method, target, token, contentType string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// benchMultipart is a share/file body as HipChat took it: a JSON part and the file part.
func benchMultipart(file []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	meta, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}, "Content-Disposition": {`attachment; name="metadata"`}})
	_, _ = meta.Write([]byte(`{"message":"the notes"}`))
	part, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain"}, "Content-Disposition": {`attachment; name="file"; filename="notes.txt"`}})
	_, _ = part.Write(file)
	_ = w.Close()
	return buf.Bytes(), "multipart/related; boundary=" + w.Boundary()
}

// measureAll is testkit.MeasureLatencies wanting any 2xx answer, without the wall time.
func measureAll(client *http.Client, callers, n int, tokens []string, requests func(i int, token string) []*http.Request) ([]time.Duration, error) {
	latencies, _, err := testkit.MeasureLatencies(client, callers, n, tokens, func(status int) bool { return status >= 200 && status <= 299 }, requests)
	return latencies, err
}
