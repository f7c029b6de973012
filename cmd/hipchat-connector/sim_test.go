package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var listeningLine = regexp.MustCompile(`listening on (http://\S+)`)

// startSim runs "sim" with args until the test ends and returns its base URL.
func startSim(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"sim", "-addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, stdout, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sim returned %v after its context ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("sim did not stop after its context ended")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningLine.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stdout
		}
		select {
		case err := <-done:
			t.Fatalf("sim stopped: %v\n%s", err, stdout.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("sim printed no listening line:\n%s", stdout.String())
	return "", nil
}

func simRequest(t *testing.T, method, url, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func TestSimServesTheEmulator(t *testing.T) {
	base, stdout := startSim(t, "-admin-token", "sandbox-admin", "-user-rate-limit", "7", "-flood-limit", "0")
	if !strings.Contains(stdout.String(), "admin token: sandbox-admin") {
		t.Errorf("the admin token is not printed:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "sandbox page: "+base+"/ ") {
		t.Errorf("the sandbox page is not printed:\n%s", stdout.String())
	}
	if resp, err := http.Get(base + "/"); err != nil || resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	status, header, body := simRequest(t, "POST", base+"/v2/room", "sandbox-admin", `{"name":"Ops"}`)
	if status != http.StatusCreated || body["id"] != float64(1) {
		t.Fatalf("create room: %d %v", status, body)
	}
	if header.Get("X-Ratelimit-Limit") != "7" || header.Get("X-Ratelimit-Remaining") != "6" {
		t.Errorf("-user-rate-limit 7: headers %v", header)
	}
	status, _, body = simRequest(t, "POST", base+"/v2/room/Ops/message", "sandbox-admin", `{"message":"hi"}`)
	if status != http.StatusCreated {
		t.Fatalf("post: %d %v", status, body)
	}
	status, _, body = simRequest(t, "GET", base+"/v2/room/Ops/history/latest", "sandbox-admin", "")
	items, _ := body["items"].([]any)
	if status != http.StatusOK || len(items) != 1 {
		t.Fatalf("latest: %d %v", status, body)
	}
	if status, _, _ := simRequest(t, "GET", base+"/v2/room", "wrong", ""); status != http.StatusUnauthorized {
		t.Errorf("a wrong token got %d", status)
	}
}

func TestSimRandomAdminTokenAndFixtures(t *testing.T) {
	fixtures := filepath.Join("..", "..", "testdata", "hipchatsim", "fixtures.json")
	base, stdout := startSim(t, "-fixtures", fixtures)
	m := regexp.MustCompile(`admin token: (\S+)`).FindStringSubmatch(stdout.String())
	if m == nil || len(m[1]) < 32 {
		t.Fatalf("no random admin token printed:\n%s", stdout.String())
	}
	status, _, body := simRequest(t, "GET", base+"/v2/room?include-archived=true", m[1], "")
	items, _ := body["items"].([]any)
	if status != http.StatusOK || len(items) == 0 {
		t.Fatalf("fixture rooms missing: %d %v", status, body)
	}
}

func TestSimFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"sim", "-h"}, func(string) string { return "" }, io.Discard, &stderr); err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, flag := range []string{"-addr", "-admin-token", "-user-rate-limit", "-addon-rate-limit", "-flood-limit", "-fixtures"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("-h does not list %s:\n%s", flag, stderr.String())
		}
	}
	for name, args := range map[string][]string{
		"negative limit":   {"sim", "-user-rate-limit", "-1", "-addr", "127.0.0.1:0"},
		"missing fixtures": {"sim", "-fixtures", filepath.Join(t.TempDir(), "none.json"), "-addr", "127.0.0.1:0"},
		"bad address":      {"sim", "-addr", "256.0.0.1:99999"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := run(ctx, args, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestSimBusyPort(t *testing.T) {
	base, _ := startSim(t)
	addr := strings.TrimPrefix(base, "http://")
	err := run(context.Background(), []string{"sim", "-addr", addr}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("a busy port is not a startup error")
	}
}

func TestSimReadsEnvironment(t *testing.T) {
	fixtures := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(fixtures, []byte(`{"users":[{"name":"A B","email":"a@b.c","tokens":[{"token":"env-fixture-token"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	// A connector's variables beside it are not the emulator's: HIPCHAT_CONNECTOR_ADDR would fail it.
	env := map[string]string{"HIPCHAT_SIM_ADDR": "127.0.0.1:0", "HIPCHAT_SIM_FIXTURES": fixtures,
		"HIPCHAT_CONNECTOR_ADDR": "256.0.0.1:99999", "HIPCHAT_CONNECTOR_FIXTURES": "/nonexistent.json"}
	go func() { done <- run(ctx, []string{"sim"}, func(k string) string { return env[k] }, stdout, io.Discard) }()
	defer func() { cancel(); <-done }()
	for i := 0; i < 1000 && listeningLine.FindStringSubmatch(stdout.String()) == nil; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	m := listeningLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("not listening:\n%s", stdout.String())
	}
	if status, _, body := simRequest(t, "GET", m[1]+"/v2/user/a@b.c", "env-fixture-token", ""); status != http.StatusOK {
		t.Fatalf("fixture token from HIPCHAT_SIM_FIXTURES: %d %v", status, body)
	}
}

// TestSimNamesTheSourceOfABadValue: a value from the environment that fails is reported by the
// variable that held it, one from the command line by its flag.
func TestSimNamesTheSourceOfABadValue(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"busy port from the environment":  {nil, map[string]string{"HIPCHAT_SIM_ADDR": busy.Addr().String()}, "HIPCHAT_SIM_ADDR: "},
		"busy port on the command line":   {[]string{"-addr", busy.Addr().String()}, map[string]string{"HIPCHAT_SIM_ADDR": "127.0.0.1:0"}, "-addr: "},
		"unparsable limit in environment": {nil, map[string]string{"HIPCHAT_SIM_FLOOD_LIMIT": "lots"}, `HIPCHAT_SIM_FLOOD_LIMIT="lots" (from the environment)`},
		"missing fixtures in environment": {[]string{"-addr", "127.0.0.1:0"}, map[string]string{"HIPCHAT_SIM_FIXTURES": "/nonexistent.json"}, "HIPCHAT_SIM_FIXTURES: "},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"sim"}, tc.args...), func(k string) string { return tc.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
		})
	}
}

// TestSimFixturesExample: -fixtures-example prints a file that -fixtures loads, -h describes the
// format instead of sending the reader elsewhere, and -authenticated-files makes shares secure.
func TestSimFixturesExample(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"sim", "-fixtures-example"}, func(string) string { return "" }, &stdout, io.Discard); err != nil {
		t.Fatalf("-fixtures-example: %v", err)
	}
	path := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	base, _ := startSim(t, "-fixtures", path, "-admin-token", "sandbox-admin", "-authenticated-files")
	status, _, body := simRequest(t, "GET", base+"/v2/room/General/history", "ann-token", "")
	items, _ := body["items"].([]any)
	if status != http.StatusOK || len(items) != 4 {
		t.Fatalf("the example's General room: %d %v", status, body)
	}
	file, _ := items[2].(map[string]any)
	if _, ok := file["authenticated_file"]; !ok {
		t.Errorf("-authenticated-files: the share is %v", file)
	}
	if err := run(context.Background(), []string{"sim", "-h"}, func(string) string { return "" }, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	if help := stderr.String(); strings.Contains(help, "go doc") || !strings.Contains(help, "mention_name") || !strings.Contains(help, "-fixtures-example") {
		t.Errorf("-h does not describe the fixtures format:\n%s", help)
	}
}
