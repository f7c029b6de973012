package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nodeProject is a directory where npm installed packages for a test, with the node command that
// runs scripts there.
type nodeProject struct {
	dir  string
	node string
}

// newNodeProject installs packages (npm names with versions) into a new temporary directory with
// npm install, as a user would, and returns it. The test is skipped, saying why, when node or npm is
// missing (.ci/run installs them); an install that fails fails the test.
func newNodeProject(t *testing.T, packages ...string) *nodeProject {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: this test runs JavaScript against the connector (.ci/run installs Node.js)")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: this test installs packages from the npm registry (.ci/run installs it with Node.js)")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true,"type":"commonjs"}`), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error", "--no-save"}, packages...)
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm install %s:\n%s", strings.Join(packages, " "), out)
	return &nodeProject{dir: dir, node: node}
}

// write puts a file (a script) into the project.
func (p *nodeProject) write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// run runs a script to its end with env added, and returns its stdout. Errors fail the test with
// its stderr.
func (p *nodeProject) run(t *testing.T, script string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.node, script)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node %s:\nstdout: %s\nstderr: %s", script, out, stderr.String())
	return string(out)
}

// nodeServer is a script that serves HTTP until the test ends: it prints its port as the first line
// of stdout ({"port":N}), then one JSON line per request it took.
type nodeServer struct {
	Port  int
	mu    sync.Mutex
	lines []json.RawMessage
}

// serve starts a server script with env added and waits for its port; the test's cleanup stops it.
func (p *nodeProject) serve(t *testing.T, script string, env ...string) *nodeServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, p.node, script)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), env...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	s := &nodeServer{}
	ports := make(chan int, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		lines.Buffer(make([]byte, 1<<20), 1<<20)
		for first := true; lines.Scan(); first = false {
			if first {
				var hello struct{ Port int }
				_ = json.Unmarshal(lines.Bytes(), &hello)
				ports <- hello.Port
				continue
			}
			s.mu.Lock()
			s.lines = append(s.lines, json.RawMessage(append([]byte(nil), lines.Bytes()...)))
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case s.Port = <-ports:
		require.Positive(t, s.Port, "the script's first line names its port; stderr: %s", stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s printed no port; stderr: %s", script, stderr)
	}
	return s
}

// Lines returns the JSON lines the server printed so far.
func (s *nodeServer) Lines() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.lines...)
}

// read returns the content of the first of names that exists in the project.
func (p *nodeProject) read(t *testing.T, names ...string) string {
	t.Helper()
	for _, name := range names {
		if raw, err := os.ReadFile(filepath.Join(p.dir, name)); err == nil {
			return string(raw)
		}
	}
	t.Fatalf("none of %v was generated", names)
	return ""
}
