package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The load runs (load_*_test.go) start real binaries on loopback, as an operator would: the
// connector (serve and sim), the callback sink (internal/devsink), the load balancer of replicas
// (internal/devlb) and, without an etcd on PATH or with -load.etcd dev, an etcd member
// (internal/devetcd: the etcd server this module builds, embedded).

// loadBinaries are the paths of the binaries a load run starts.
type loadBinaries struct {
	connector, sink, balancer, etcd string
	etcdOnPath                      bool   // etcd is the etcd on PATH, not internal/devetcd
	etcdVersion                     string // which etcd server the etcd runs start, for their summary
}

// buildLoadBinaries builds the binaries into tb's temporary directory (the go build cache makes a
// rebuild a link). Errors fail tb.
func buildLoadBinaries(tb testing.TB) loadBinaries {
	tb.Helper()
	dir := tb.TempDir()
	bins := loadBinaries{
		connector: filepath.Join(dir, "hipchat-connector"), sink: filepath.Join(dir, "devsink"),
		balancer: filepath.Join(dir, "devlb"), etcd: filepath.Join(dir, "devetcd"),
	}
	for pkg, out := range map[string]string{".": bins.connector, "../../internal/devsink": bins.sink,
		"../../internal/devlb": bins.balancer, "../../internal/devetcd": bins.etcd} {
		args := []string{"build", "-o", out}
		if pkg == "." && *loadProfile != "" {
			args = append(args, "-tags", "loadprofile") // loadprofile.go: the connector serves /debug/pprof/
		}
		cmd := exec.Command("go", append(args, pkg)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	switch *loadEtcd {
	case "path":
		if path, err := exec.LookPath("etcd"); err == nil {
			bins.etcd, bins.etcdOnPath = path, true
		}
	case "dev":
	default:
		tb.Fatalf("-load.etcd %q: want path or dev", *loadEtcd)
	}
	bins.etcdVersion = etcdVersion(bins)
	return bins
}

// etcdVersion names the etcd server of bins: the first line of `etcd --version` and the path of
// the one on PATH, or devetcd with the etcd server version this module requires.
func etcdVersion(bins loadBinaries) string {
	if bins.etcdOnPath {
		out, err := exec.Command(bins.etcd, "--version").Output()
		if err != nil {
			return bins.etcd + " (its version unknown: " + err.Error() + ")"
		}
		first, _, _ := strings.Cut(string(out), "\n")
		return strings.TrimSpace(first) + " (" + bins.etcd + ")"
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "go.etcd.io/etcd/server/v3" {
				return "devetcd (embedded go.etcd.io/etcd/server/v3 " + dep.Version + ")"
			}
		}
	}
	return "devetcd"
}

// loadProcess is one running binary: its output, the URL it printed, and its CPU time.
type loadProcess struct {
	tb     testing.TB
	name   string
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	URL    string
	done   chan struct{}
}

// loadListeningLine is how every binary of a load run says where it listens.
var loadListeningLine = regexp.MustCompile(`(?:listening on|endpoints:) (http://\S+)`)

// startLoadProcess starts bin with args and env (beside the environment, without any
// HIPCHAT_CONNECTOR_ setting of the developer's), waits up to 60 s for its listening line, and
// stops it when tb ends. Errors fail tb.
func startLoadProcess(tb testing.TB, name, bin string, env []string, args ...string) *loadProcess {
	tb.Helper()
	p := launchLoadProcess(tb, name, bin, env, args...)
	deadline := time.Now().Add(60 * time.Second)
	for p.URL == "" {
		if m := loadListeningLine.FindStringSubmatch(p.stdout.String()); m != nil {
			p.URL = strings.TrimRight(m[1], "/")
			break
		}
		select {
		case <-p.done:
			tb.Fatalf("%s stopped before listening: %s", name, p.tail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not print where it listens: %s", name, p.tail())
		}
	}
	return p
}

// launchLoadProcess starts bin as startLoadProcess does, without waiting for anything.
func launchLoadProcess(tb testing.TB, name, bin string, env []string, args ...string) *loadProcess {
	tb.Helper()
	p := &loadProcess{tb: tb, name: name, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HIPCHAT_CONNECTOR_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(p.stop)
	return p
}

// tail is the end of the process's output, for a failure message.
func (p *loadProcess) tail() string {
	out := p.stdout.String() + p.stderr.String()
	return out[max(0, len(out)-3000):]
}

// stop ends the process with SIGTERM, and SIGKILL after 20 s.
func (p *loadProcess) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// cpu is the process's CPU time so far (user and system), from /proc; 0 where there is none.
func (p *loadProcess) cpu() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start at state, field 3; utime and
	// stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
	rest := raw[bytes.LastIndexByte(raw, ')')+2:]
	fields := strings.Fields(string(rest))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// waitReady waits up to 60 s for GET URL/readyz to answer 200. Errors fail the test.
func (p *loadProcess) waitReady() { p.waitAnswer("/readyz") }

// waitAnswer waits up to 60 s for GET URL+path to answer 200. Errors fail the test.
func (p *loadProcess) waitAnswer(path string) {
	p.tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("%s not ready: %v %s", p.name, err, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeLoopbackPort returns http://127.0.0.1:PORT for a port nothing listened on a moment ago (for
// the etcd binary, which cannot be given :0).
func freeLoopbackPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}
