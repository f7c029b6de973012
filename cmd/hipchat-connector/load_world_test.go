package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// loadSpec is the shape of one load run.
type loadSpec struct {
	Backend      string // "bbolt" or "etcd"
	Replicas     int    // connectors sharing one etcd prefix (1 with bbolt)
	Tokens       int    // the subscribers' personal tokens; rooms are spread over them in turn
	Rooms        int
	SubsPerRoom  int
	Messages     int  // posted in the measured burst, in the rooms in turn
	Posters      int  // clients posting at once, each with a token of its own
	Push         bool // serve -push
	PollSchedule string
	// Settle is a wait after the warm-up, so that the tokens' budgets (the connector's 61 s window)
	// start the burst fresh, as they would in a burst after a quiet spell.
	Settle time.Duration
	// Arrivals makes the sink keep when each event arrived (devsink -arrivals).
	Arrivals bool
}

// loadWorld is a load run's processes and its HipChat world: the emulator, the sink, etcd (with
// replicas, a load balancer before them), the connectors, and the people, rooms and subscriptions.
type loadWorld struct {
	tb       testing.TB
	spec     loadSpec
	bins     loadBinaries
	dir      string
	sim      *loadProcess
	simc     *simclient.Client
	admin    string
	sink     *loadProcess
	secrets  string // the sink's secrets file
	etcd     *loadProcess
	balancer *loadProcess
	replicas []*loadProcess
	// subscribers[i] subscribes the rooms of index i mod Tokens; posters post.
	subscribers, posters []simclient.Person
	rooms                []string
	locations            []string // of every subscription
	http                 *http.Client
}

// newLoadWorld starts the processes of spec, makes its people, rooms and subscriptions, and warms
// the feeds up (one message each, delivered). Errors fail tb.
func newLoadWorld(tb testing.TB, bins loadBinaries, spec loadSpec) *loadWorld {
	tb.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	w := &loadWorld{tb: tb, spec: spec, bins: bins, dir: tb.TempDir(), http: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
	w.startSim()
	w.secrets = filepath.Join(w.dir, "secrets")
	if err := os.WriteFile(w.secrets, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	sinkArgs := []string{"-quiet", "-secrets", w.secrets}
	if spec.Arrivals {
		sinkArgs = append(sinkArgs, "-arrivals")
	}
	w.sink = startLoadProcess(tb, "devsink", bins.sink, nil, sinkArgs...)
	w.startConnectors()
	w.makePeople()
	w.subscribeAll()
	w.warmUp()
	return w
}

// startSim starts the emulator with every limit off and reads its admin token.
func (w *loadWorld) startSim() {
	w.sim = startLoadProcess(w.tb, "sim", w.bins.connector, nil,
		"sim", "-addr", "127.0.0.1:0", "-user-rate-limit", "0", "-addon-rate-limit", "0", "-flood-limit", "0")
	for _, line := range strings.Split(w.sim.stdout.String(), "\n") {
		if token, ok := strings.CutPrefix(line, "admin token: "); ok {
			w.admin = strings.TrimSpace(token)
		}
	}
	if w.admin == "" {
		w.tb.Fatalf("the emulator printed no admin token: %s", w.sim.tail())
	}
	w.simc = simclient.New(w.sim.URL)
}

// startConnectors starts etcd when the backend is etcd (and a load balancer before several
// replicas, their one public URL, where HipChat's room webhooks call), then the connectors.
func (w *loadWorld) startConnectors() {
	args := []string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", w.sim.URL, "-poll-schedule", w.spec.PollSchedule,
		"-allow-private-callbacks", "-callback-rate", "0", "-push=" + strconv.FormatBool(w.spec.Push),
		"-max-subscriptions-per-connection", "1000"} // the large burst is 200 subscriptions of one token
	var env []string
	if *loadProfile != "" {
		env = append(env, "HIPCHAT_CONNECTOR_PPROF=127.0.0.1:0")
	}
	switch w.spec.Backend {
	case "bbolt":
		w.replicas = append(w.replicas, startLoadProcess(w.tb, "serve", w.bins.connector, env,
			append(args, "-db", filepath.Join(w.dir, "connector.db"))...))
		w.replicas[0].waitReady()
		return
	case "etcd":
		w.etcd = w.startEtcd()
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		env = append(env, "HIPCHAT_CONNECTOR_KEY="+hex.EncodeToString(key)) // the replicas' one sealing key
		args = append(args, "-etcd-endpoints", w.etcd.URL, "-etcd-prefix", "/load/")
	default:
		w.tb.Fatalf("backend %q: want bbolt or etcd", w.spec.Backend)
	}
	backends := filepath.Join(w.dir, "backends")
	if w.spec.Replicas > 1 {
		if err := os.WriteFile(backends, nil, 0o600); err != nil {
			w.tb.Fatal(err)
		}
		w.balancer = startLoadProcess(w.tb, "devlb", w.bins.balancer, nil, "-backends", backends)
		args = append(args, "-public-url", w.balancer.URL)
	}
	for i := range w.spec.Replicas {
		r := startLoadProcess(w.tb, fmt.Sprintf("serve r%d", i+1), w.bins.connector, env, args...)
		r.waitReady()
		w.replicas = append(w.replicas, r)
		if w.balancer != nil {
			appendLine(w.tb, backends, r.URL)
		}
	}
}

// startEtcd starts one etcd member: the etcd on PATH, or internal/devetcd.
func (w *loadWorld) startEtcd() *loadProcess {
	if !w.bins.etcdOnPath {
		return startLoadProcess(w.tb, "devetcd", w.bins.etcd, nil, "-members", "1", "-dir", filepath.Join(w.dir, "etcd"))
	}
	client, peer := freeLoopbackPort(w.tb), freeLoopbackPort(w.tb)
	p := launchLoadProcess(w.tb, "etcd", w.bins.etcd, nil, "--name", "load", "--data-dir", filepath.Join(w.dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "load="+peer)
	p.URL = client
	p.waitAnswer("/health")
	return p
}

// makePeople creates the subscribers (one personal token each) and the posters, with the admin
// token (the emulator's limits are off).
func (w *loadWorld) makePeople() {
	ctx := context.Background()
	for i := range w.spec.Tokens {
		p, err := w.simc.NewPerson(ctx, w.admin, fmt.Sprintf("Subscriber %d", i), fmt.Sprintf("subscriber%d", i))
		if err != nil {
			w.tb.Fatal(err)
		}
		w.subscribers = append(w.subscribers, p)
	}
	for i := range w.spec.Posters {
		p, err := w.simc.NewPerson(ctx, w.admin, fmt.Sprintf("Poster %d", i), fmt.Sprintf("poster%d", i))
		if err != nil {
			w.tb.Fatal(err)
		}
		w.posters = append(w.posters, p)
	}
}

// subscribeAll creates the rooms (public, each owned by its subscriber) and SubsPerRoom message
// subscriptions of each through the first connector, and writes their secrets for the sink. An
// answer 429 (the token's budget for actions) is waited out as its Retry-After says. With etcd it
// waits until the replicas own every feed between them.
func (w *loadWorld) subscribeAll() {
	ctx := context.Background()
	for r := range w.spec.Rooms {
		owner := w.subscribers[r%len(w.subscribers)]
		id, err := w.simc.CreateRoom(ctx, owner.Token, fmt.Sprintf("Load %d", r), "public")
		if err != nil {
			w.tb.Fatal(err)
		}
		room := strconv.Itoa(id)
		w.rooms = append(w.rooms, room)
		for range w.spec.SubsPerRoom {
			w.subscribe(owner.Token, room)
		}
	}
	if w.spec.Backend == "etcd" {
		w.waitUntil("the replicas own every feed", 60*time.Second, func() bool {
			return w.sumMetric("hipchat_connector_cluster_feeds_owned") == float64(w.spec.Rooms)
		})
	}
}

// subscribe subscribes the sink to room's messages with token, waiting out 429s.
func (w *loadWorld) subscribe(token, room string) {
	body := `{"callbackUrl":"` + w.sink.URL + `/hook"}`
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, w.replicas[0].URL+"/subscriptions/rooms/"+room+"/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := w.http.Do(req)
		if err != nil {
			w.tb.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 20 {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		var sub struct{ ID, Secret, Location string }
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &sub) != nil || sub.Secret == "" {
			w.tb.Fatalf("subscribing room %s: %d %s", room, resp.StatusCode, raw)
		}
		appendLine(w.tb, w.secrets, sub.ID+" "+sub.Secret)
		w.locations = append(w.locations, sub.Location)
		return
	}
}

// warmUp posts a message in every room and waits for its deliveries; with push, again in the rooms
// whose feed is not yet on trusted push (a doorbell read that found something proves it), then
// waits Settle.
func (w *loadWorld) warmUp() {
	ctx := context.Background()
	want := w.sinkStats().Unique
	rooms := w.rooms
	for round := 0; len(rooms) > 0; round++ {
		if round == 5 {
			w.tb.Fatalf("push: the feeds of %d rooms were not trusted after %d messages each", len(rooms), round)
		}
		for _, room := range rooms {
			if _, err := w.simc.PostMessage(ctx, w.posters[0].Token, room, "warm-up"); err != nil {
				w.tb.Fatal(err)
			}
		}
		want += len(rooms) * w.spec.SubsPerRoom
		w.waitUntil("the warm-up messages are delivered", 10*time.Minute, func() bool { return w.sinkStats().Unique >= want })
		if !w.spec.Push {
			break
		}
		rooms = w.untrustedRooms()
	}
	time.Sleep(w.spec.Settle)
}

// untrustedRooms are the rooms whose subscriptions say their feed is not on trusted push.
func (w *loadWorld) untrustedRooms() []string {
	var rooms []string
	seen := map[string]bool{}
	for i, location := range w.locations {
		room := w.rooms[i/w.spec.SubsPerRoom]
		if seen[room] {
			continue
		}
		var sub struct {
			Push *struct{ State string } `json:"push"`
		}
		req, _ := http.NewRequest(http.MethodGet, location, nil)
		req.Header.Set("Authorization", "Bearer "+w.subscribers[(i/w.spec.SubsPerRoom)%len(w.subscribers)].Token)
		resp, err := w.http.Do(req)
		if err != nil {
			w.tb.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&sub)
		resp.Body.Close()
		if err != nil || sub.Push == nil || sub.Push.State != "trusted" {
			seen[room] = true
			rooms = append(rooms, room)
		}
	}
	return rooms
}

// sinkCounts is GET /stats of the sink.
type sinkCounts struct {
	Accepted, Unique, Repeats int
	LastUnixNano              int64 `json:"last_unix_nano"`
}

func (w *loadWorld) sinkStats() sinkCounts {
	var st sinkCounts
	if err := getJSON(w.http, w.sink.URL+"/stats", &st); err != nil {
		w.tb.Fatal(err)
	}
	return st
}

// sumMetric adds up series name (without labels) over the replicas' /metrics.
func (w *loadWorld) sumMetric(name string) float64 {
	total := 0.0
	for _, r := range w.replicas {
		resp, err := w.http.Get(r.URL + "/metrics")
		if err != nil {
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(raw), "\n") {
			if value, ok := strings.CutPrefix(line, name+" "); ok {
				v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
				total += v
			}
		}
	}
	return total
}

// calls is the HipChat calls the subscribers' tokens made so far (the connector's: nothing else
// uses them once the world is made).
func (w *loadWorld) calls() int {
	var all struct {
		Tokens []simclient.TokenCalls `json:"tokens"`
	}
	if err := getJSON(w.http, w.sim.URL+"/_sim/calls", &all); err != nil {
		w.tb.Fatal(err)
	}
	mine := map[string]bool{}
	for _, p := range w.subscribers {
		mine[simclient.TokenSHA256(p.Token)] = true
	}
	n := 0
	for _, t := range all.Tokens {
		if mine[t.TokenSHA256] {
			n += t.Total
		}
	}
	return n
}

// waitUntil polls cond every 20 ms for up to limit; it fails tb with what when cond stays false.
func (w *loadWorld) waitUntil(what string, limit time.Duration, cond func() bool) {
	w.tb.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.tb.Fatalf("%s: not within %s; sink %+v; connector log: %s", what, limit, w.sinkStats(), w.replicas[0].tail())
		}
	}
}

func getJSON(client *http.Client, url string, out any) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(url + ": " + resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// appendLine appends line to the file at path.
func appendLine(tb testing.TB, path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.WriteString(line + "\n")
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		tb.Fatal(err)
	}
}
