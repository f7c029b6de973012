package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestCallbackSubscriptionsSurviveKill9 is issue 6's crash test, on FIFO subscriptions: the real
// binary polls 10 rooms every second while 1,000 messages are posted and the process is killed with
// SIGKILL at random moments and restarted on the same database. Afterwards every message has
// reached the sink, every repeat carries the same webhook-id, first arrivals are in posting order,
// and the database holds no undelivered event.
func TestCallbackSubscriptionsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it for about half a minute")
	}
	const rooms, messages = 10, 1000
	dir := t.TempDir()
	bin := buildCrashBinary(t, dir)

	ctx := context.Background()
	emu := startEmulator(t) // no rate or flood limits: the connector's budget is the subject
	sim := emu.client
	sk := newCrashSink(t)

	db := filepath.Join(dir, "state.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	proc := startBinary(t, bin, dir, "serve", "-addr", "127.0.0.1:0", "-db", db, "-hipchat-url", emu.URL,
		"-poll-schedule", "@every 1s", "-allow-private-callbacks")

	// One person, token and room per subscription: each connection makes one call per tick, well
	// inside its background budget (75 of 100 calls per 61 s).
	type watched struct {
		token, room, sub string
		posted           []string
	}
	watch := make([]*watched, rooms)
	for i := range watch {
		p, err := sim.NewPerson(ctx, emu.admin, fmt.Sprintf("Poster %d", i), fmt.Sprintf("poster%d", i))
		require.NoError(t, err)
		room, err := sim.CreateRoom(ctx, p.Token, fmt.Sprintf("Room %d", i), "public")
		require.NoError(t, err)
		w := &watched{token: p.Token, room: strconv.Itoa(room)}
		w.sub = proc.subscribe(w.token, w.room, sk, "fifo")
		watch[i] = w
	}

	// Post 1,000 messages over about 12 seconds while killing the connector now and then.
	posted := make(chan struct{})
	go func() {
		defer close(posted)
		for n := 0; n < messages; n++ {
			w := watch[n%rooms]
			id, err := sim.PostMessage(ctx, w.token, w.room, fmt.Sprintf("message %d", n))
			if err != nil {
				t.Errorf("posting message %d: %v", n, err)
				return
			}
			w.posted = append(w.posted, id)
			time.Sleep(12 * time.Millisecond)
		}
	}()
	kills := 0
	for done := false; !done || kills < 3; {
		select {
		case <-posted:
			done = true
		case <-time.After(time.Duration(700+rng.IntN(2300)) * time.Millisecond):
		}
		if done && kills >= 3 {
			break
		}
		if kills == 5 {
			<-posted
			break
		}
		proc.kill9()
		kills++
		proc = startBinary(t, bin, dir, proc.args...)
	}
	t.Logf("killed the connector %d times with SIGKILL", kills)

	// Everything arrives after the last restart, once the window it leaves to the calls the killed
	// process may have made (crashBudgetWait) has passed.
	want := map[string][]string{}
	for _, w := range watch {
		want[w.sub] = w.posted
	}
	deadline := time.Now().Add(40*time.Second + crashBudgetWait)
	for !sk.hasAll(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	proc.stop()

	requireCrashResumes(t, dir, kills)
	first, duplicates := sk.check(t)
	for _, w := range watch {
		assert.Equal(t, w.posted, first[w.sub], "room %s: every message once at least, first arrivals in order", w.room)
	}
	t.Logf("%d requests, %d repeats after crashes (each with its original webhook-id)", sk.count(), duplicates)

	// The database: consistent, and nothing left undelivered behind a cursor.
	store := openCheckedStore(t, db)
	for _, w := range watch {
		log, err := store.Deliveries(w.sub, 0)
		require.NoError(t, err)
		assert.Len(t, log, len(w.posted), "one outbox entry per message, never two")
		for _, dl := range log {
			assert.Equal(t, state.DeliveryDelivered, dl.Status, "delivery %s", dl.ID)
		}
		sub, err := store.Subscription(w.sub)
		require.NoError(t, err)
		var cursor triggers.MessageCursor
		require.NoError(t, json.Unmarshal(sub.Cursor, &cursor))
		assert.Equal(t, w.posted[len(w.posted)-1], cursor.LastID, "the cursor stands at the last message")
	}
}

// crashBudgetWait is how long a connector restarted after a crash waits before its poller calls
// HipChat again: one window of the limiter, in which the killed process may have spent the
// background share of every connection (connector.Client.ResumeAfterCrash). In production the
// window is 61 s; the crash tests link a binary whose window is this (limiterWindow), so that the
// wait does not take a minute of each of them. What they prove (every message arrives once at least,
// under one webhook-id, in order for FIFO, nothing left behind a cursor) does not depend on the
// window's length: their connections make one call a second, far within any window's budget.
const crashBudgetWait = 2 * time.Second

// buildBinary builds the program into dir and returns the binary's path.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	return build(t, dir)
}

// buildCrashBinary builds the program into dir with the limiter window crashBudgetWait (see it)
// and returns the binary's path.
func buildCrashBinary(t *testing.T, dir string) string {
	t.Helper()
	return build(t, dir, "-ldflags", "-X main.limiterWindow="+crashBudgetWait.String())
}

func build(t *testing.T, dir string, flags ...string) string {
	t.Helper()
	bin := filepath.Join(dir, "hipchat-connector")
	build := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), ".")...)
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	return bin
}

// requireCrashResumes checks the connector's log in dir: every start after a kill -9 took the
// crash path (the poller waited out the window of calls the killed process may have made).
func requireCrashResumes(t *testing.T, dir string, kills int) {
	t.Helper()
	log, err := os.ReadFile(filepath.Join(dir, "connector.log"))
	require.NoError(t, err)
	assert.Equal(t, kills, strings.Count(string(log), "the last run did not stop gracefully"),
		"each start after a SIGKILL assumed the killed process's calls")
}

// binaryRun is one run of the binary.
type binaryRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	args []string
	url  string
	exit chan error
}

// startConnector starts the binary with args, reads the address it prints and waits for /readyz.
func startBinary(t *testing.T, bin, dir string, args ...string) *binaryRun {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = withoutConnectorVars(os.Environ())
	stderr, err := os.OpenFile(filepath.Join(dir, "connector.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	t.Cleanup(func() { stderr.Close() })
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &binaryRun{t: t, cmd: cmd, args: args, exit: make(chan error, 1)}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the connector printed nothing; see %s", filepath.Join(dir, "connector.log"))
	line := lines.Text()
	require.True(t, strings.HasPrefix(line, "listening on "), line)
	p.url = strings.TrimPrefix(line, "listening on ")
	go func() { _, _ = io.Copy(io.Discard, stdout); p.exit <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		require.True(t, time.Now().Before(deadline), "the connector did not become ready")
		time.Sleep(20 * time.Millisecond)
	}
}

func withoutConnectorVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, envPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// kill9 kills the process with SIGKILL: no shutdown code runs.
func (p *binaryRun) kill9() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exit
}

// stop asks for a graceful shutdown (SIGTERM) and requires a clean exit.
func (p *binaryRun) stop() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exit:
		require.NoError(p.t, err, "graceful shutdown")
	case <-time.After(30 * time.Second):
		p.t.Fatal("the connector did not stop within 30 s of SIGTERM")
	}
}

// subscribe subscribes the sink to new messages of room with ordering (best_effort or fifo) and
// returns the subscription id. It obeys a 429's Retry-After, as Logic Apps does: a token the
// connector has not seen HipChat accept waits its turn when many new ones arrive at once.
func (p *binaryRun) subscribe(token, room string, sk *crashSink, ordering string) string {
	p.t.Helper()
	body, _ := json.Marshal(map[string]string{"callbackUrl": sk.srv.URL + "/hook", "ordering": ordering})
	var resp *http.Response
	var raw []byte
	for {
		req, err := http.NewRequest("POST", p.url+"/subscriptions/rooms/"+room+"/messages", bytes.NewReader(body))
		require.NoError(p.t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(p.t, err)
		raw, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			break
		}
		wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(p.t, err, "a 429 says when to come back")
		time.Sleep(time.Duration(wait) * time.Second)
	}
	require.Equal(p.t, http.StatusCreated, resp.StatusCode, string(raw))
	var sub struct{ ID, Secret string }
	require.NoError(p.t, json.Unmarshal(raw, &sub))
	require.Equal(p.t, p.url+"/subscriptions/"+sub.ID, resp.Header.Get("Location"))
	sk.trust(sub.ID, sub.Secret)
	return sub.ID
}

// crashSink records every complete request and answers 200, or 500 to the first attempt of every
// failEvery-th event when failEvery > 0.
type crashSink struct {
	srv       *httptest.Server
	mu        sync.Mutex
	secrets   map[string]string
	got       []crashHook
	seen      map[string]map[string]bool // subscription → message ids received (answered 200)
	failEvery int
	events    map[string]int // webhook-id → its order of first arrival
	lastAt    time.Time      // when the last event was first accepted
}

type crashHook struct {
	sub, webhookID, item string
	verified             error
	at                   time.Time // when it arrived
}

func newCrashSink(t *testing.T) *crashSink {
	s := &crashSink{secrets: map[string]string{}, seen: map[string]map[string]bool{}, events: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the connector died mid-request
		}
		var item struct{ ID string }
		_ = json.Unmarshal(body, &item)
		sub := r.Header.Get("X-HipChat-Connector-Subscription")
		s.mu.Lock()
		defer s.mu.Unlock()
		h := crashHook{sub: sub, webhookID: r.Header.Get("webhook-id"), item: item.ID, at: time.Now()}
		wh, err := standardwebhooks.NewWebhook(s.secrets[sub])
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		h.verified = err
		s.got = append(s.got, h)
		if s.failEvery > 0 {
			if _, again := s.events[h.webhookID]; !again {
				n := len(s.events) + 1
				s.events[h.webhookID] = n
				if n%s.failEvery == 0 {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
			}
		}
		if s.seen[sub] == nil {
			s.seen[sub] = map[string]bool{}
		}
		if !s.seen[sub][item.ID] {
			s.lastAt = time.Now()
		}
		s.seen[sub][item.ID] = true
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *crashSink) trust(sub, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[sub] = secret
}

// arrivals returns, per subscription, when each request arrived, in order.
func (s *crashSink) arrivals() map[string][]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]time.Time{}
	for _, h := range s.got {
		out[h.sub] = append(out[h.sub], h.at)
	}
	return out
}

func (s *crashSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// received is how many distinct messages of subscription sub the sink accepted.
func (s *crashSink) received(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen[sub])
}

func (s *crashSink) hasAll(want map[string][]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub, ids := range want {
		for _, id := range ids {
			if !s.seen[sub][id] {
				return false
			}
		}
	}
	return true
}

// check verifies every request and returns, per subscription, the message ids in order of first
// arrival, and how many requests repeated an earlier one.
func (s *crashSink) check(t *testing.T) (map[string][]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := map[string][]string{}
	webhookIDs := map[string]string{} // subscription/message → webhook-id
	duplicates := 0
	for _, h := range s.got {
		assert.NoError(t, h.verified, "signature of %s", h.webhookID)
		assert.Equal(t, state.DeliveryID(h.sub, h.item), h.webhookID)
		key := h.sub + "/" + h.item
		if id, ok := webhookIDs[key]; ok {
			duplicates++
			assert.Equal(t, id, h.webhookID, "a repeat carries the same webhook-id")
			continue
		}
		webhookIDs[key] = h.webhookID
		first[h.sub] = append(first[h.sub], h.item)
	}
	return first, duplicates
}

// openCheckedStore opens the bbolt file db that a connector left (stopped or killed), with its key
// file beside it, and checks its consistency (bbolt's own check); it is closed when the test ends.
func openCheckedStore(t *testing.T, db string) *bolt.Store {
	t.Helper()
	key, err := state.LoadOrCreateKeyFile(db + ".key")
	require.NoError(t, err)
	store, err := bolt.Open(db, bolt.Options{Key: key, Timeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.Check())
	return store
}
