package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestServeStartThatFailsCreatesNothing: a busy port fails the start before the database and
// its key file exist, so nothing is left behind.
func TestServeStartThatFailsCreatesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"serve", "-addr", busy.Addr().String(), "-db", filepath.Join(dir, "connector.db")},
		func(string) string { return "" }, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-addr "+busy.Addr().String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "a start that cannot serve creates no database and no key file")
}

// TestServeSaysAnotherProcessHoldsTheDatabase: a second serve on the same -db says why it cannot
// open it (bbolt's lock timeout), and leaves the first one's files alone.
func TestServeSaysAnotherProcessHoldsTheDatabase(t *testing.T) {
	sim := startEmulator(t)
	db := filepath.Join(t.TempDir(), "shared.db")
	startConnector(t, sim.URL, "-db", db)

	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", sim.URL, "-db", db},
		func(string) string { return "" }, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another process holds the database")
	assert.NotContains(t, stdout.String(), "listening on")
	for _, f := range []string{db, db + ".key"} {
		_, err := os.Stat(f)
		assert.NoError(t, err, "%s is still there", f)
	}
}

// TestServeAcceptsAHipChatURLEndingInV2: -hipchat-url https://host/v2 is the base URL with /v2
// dropped (and the log says so), so the actions reach HipChat instead of answering 404.
func TestServeAcceptsAHipChatURLEndingInV2(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL+"/v2/")
	resp := c.do("GET", "/users/@bob", bearerHeader(w.annToken), "")
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	assert.Contains(t, c.Logs.String(), "hipchat-url ends in /v2")
}

// TestHelpLinesFitIn100Columns: -h of serve and demo keeps every line within 100 characters and
// ends with a newline; the demo's -poll-schedule carries one parenthetical.
func TestHelpLinesFitIn100Columns(t *testing.T) {
	for _, sub := range []string{"serve", "demo"} {
		t.Run(sub, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.NoError(t, run(t.Context(), []string{sub, "-h"}, func(string) string { return "" }, &stdout, &stderr))
			help := stderr.String()
			require.True(t, strings.HasSuffix(help, "\n"), "the last line ends with a newline")
			for _, line := range strings.Split(strings.TrimSuffix(help, "\n"), "\n") {
				assert.LessOrEqual(t, len(strings.ReplaceAll(line, "\t", "    ")), 100, "%q", line)
				if strings.Contains(line, "production") {
					assert.Equal(t, 1, strings.Count(line, "("), "one parenthetical, the default: %q", line)
				}
			}
		})
	}
}

// backupSink is a callback receiver that holds every POST (until the caller goes away) while
// holding, and then verifies and records each delivery once.
type backupSink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	holding bool
	wh      *standardwebhooks.Webhook
	got     map[string]bool // webhook-id → delivered and verified
}

func newBackupSink(t *testing.T) *backupSink {
	s := &backupSink{holding: true, got: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		holding, wh := s.holding, s.wh
		s.mu.Unlock()
		if holding {
			<-r.Context().Done() // in flight until the connector gives up on it
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		s.got[r.Header.Get("webhook-id")] = true
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *backupSink) release(t *testing.T, secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holding, s.wh = false, wh
}

func (s *backupSink) has(ids []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if !s.got[id] {
			return false
		}
	}
	return true
}

// TestBackupTakenUnderLoadRestoresIntoAProcessThatDeliversWhatWasPending: while test events are
// queued and the callback holds every delivery in flight, GET /admin/backup copies the database;
// a new process started on that copy (with the same key) delivers every event queued before the
// backup, and the copy passes bbolt's consistency check.
func TestBackupTakenUnderLoadRestoresIntoAProcessThatDeliversWhatWasPending(t *testing.T) {
	w := newWorld(t)
	sink := newBackupSink(t)
	dir := t.TempDir()
	adminFile := filepath.Join(dir, "admin-token")
	const admin = "operator-credential-0123456789abcdef"
	require.NoError(t, os.WriteFile(adminFile, []byte(admin+"\n"), 0o600))
	db := filepath.Join(dir, "live.db")
	first := startConnector(t, w.sim.URL, "-db", db, "-admin-token-file", adminFile, "-allow-private-callbacks",
		"-poll-schedule", "@every 1h")
	assert.NotContains(t, first.Logs.String(), admin, "the operator credential is never logged")

	resp := first.do("POST", "/subscriptions/rooms/"+strconv.Itoa(w.publicRoom)+"/messages", bearerHeader(w.annToken),
		mustJSON(map[string]string{"callbackUrl": sink.srv.URL + "/hook"}))
	require.Equal(t, http.StatusCreated, resp.Status, resp.Body)
	var sub struct{ ID, Secret string }
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &sub))

	queue := func() string {
		resp := first.do("POST", "/subscriptions/"+sub.ID+"/test", bearerHeader(w.annToken), "")
		require.Equal(t, http.StatusAccepted, resp.Status, resp.Body)
		var dl struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &dl))
		return dl.ID
	}
	var before []string
	for i := 0; i < 20; i++ {
		before = append(before, queue())
	}

	// Load while the backup streams: more events are queued concurrently.
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for i := 0; i < 20; i++ {
			queue()
		}
	}()
	resp = first.do("GET", "/admin/backup", bearerHeader(admin), "")
	<-loadDone
	require.Equal(t, http.StatusOK, resp.Status)
	require.Equal(t, resp.Header.Get("Content-Length"), strconv.Itoa(len(resp.Body)))
	assert.Equal(t, http.StatusUnauthorized, first.do("GET", "/admin/backup", bearerHeader(w.annToken), "").Status,
		"a HipChat token is not the operator credential")
	first.Stop()

	// Restore: the file in place of -db, the key kept beside it, and start.
	restoredDB := filepath.Join(t.TempDir(), "restored.db")
	require.NoError(t, os.WriteFile(restoredDB, []byte(resp.Body), 0o600))
	checkBolt(t, restoredDB)
	key, err := os.ReadFile(db + ".key")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(restoredDB+".key", key, 0o600))

	sink.release(t, sub.Secret)
	second := startConnector(t, w.sim.URL, "-db", restoredDB, "-allow-private-callbacks", "-poll-schedule", "@every 1h")
	require.Eventually(t, func() bool { return sink.has(before) }, 20*time.Second, 20*time.Millisecond,
		"the restored process delivers every event pending at the backup")
	assert.Equal(t, http.StatusNotFound, second.do("GET", "/admin/backup", bearerHeader(admin), "").Status,
		"without an operator credential the operator routes are absent")
}

// checkBolt runs bbolt's consistency check on path: in process always, and with the bbolt CLI
// (go run go.etcd.io/bbolt/cmd/bbolt@v1.5.0 check) when go is on PATH.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}))
	require.NoError(t, db.Close())

	if _, err := exec.LookPath("go"); err != nil {
		t.Log("go is not on PATH: skipping the bbolt CLI check (the in-process tx.Check passed)")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "run", "go.etcd.io/bbolt/cmd/bbolt@v1.5.0", "check", path).CombinedOutput()
	require.NoError(t, err, "bbolt check: %s", out)
	assert.Contains(t, string(out), "OK")
}
