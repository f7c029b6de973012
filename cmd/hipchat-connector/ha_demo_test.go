package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var haDemoSummary = regexp.MustCompile(`(?m)^summary: (\d+) messages posted, (\d+) delivered \(unique by message id; \d+ deliveries in all\), 0 missing; replica r[123] was killed$`)

var haDemoDoorbells = regexp.MustCompile(`(?m)^doorbells \(room webhooks through the load balancer\), counted by the live replicas: (\d+) rung at the feed's owner`)

// TestHADemoScript runs scripts/ha-demo.sh for 20 s (its shortest): three replicas on a three-member etcd behind
// one load balancer, one killed with SIGKILL a third of the way in. The script exits 0 only when
// every message posted was delivered; the test checks that, the summary line, that the replicas saw
// each other before the first subscription and the feeds were spread over all three (rooms are
// added until they are: it fails to spread with 24 rooms once in about 5,000 runs), that the kill
// and the takeover were shown, and that messages came on doorbells (push through the load
// balancer).
func TestHADemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("scripts/ha-demo.sh builds the binary and runs for about 35 s")
	}
	for _, tool := range []string{"bash", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scripts/ha-demo.sh needs %s, which is not on PATH", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../../scripts/ha-demo.sh", "-d", "20")
	// SIGTERM, not SIGKILL, on timeout: the script's trap then stops etcd, the emulator and the replicas.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HIPCHAT_CONNECTOR_") { // a developer's settings must not reach the replicas
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "scripts/ha-demo.sh:\n%s", out)

	m := haDemoSummary.FindStringSubmatch(string(out))
	require.NotNil(t, m, "no summary line in:\n%s", out)
	assert.Equal(t, m[1], m[2], "every message posted was delivered")
	assert.NotEqual(t, "0", m[1], "messages were posted")
	assert.Contains(t, string(out), "members (hipchat_connector_cluster_members): r1 sees 3, r2 sees 3, r3 sees 3")
	assert.Regexp(t, `(?m)^\S+  spread over the three replicas with \d+ rooms$`, string(out))
	assert.Regexp(t, `kill -9 replica r[123] \(pid \d+, owning \d+ feeds\)`, string(out))
	assert.Regexp(t, `after:  feeds owned \(hipchat_connector_cluster_feeds_owned\): r1=(\d+|-) r2=(\d+|-) r3=(\d+|-)`, string(out))
	t.Logf("%s", m[0])
	d := haDemoDoorbells.FindStringSubmatch(string(out))
	require.NotNil(t, d, "no doorbells line in:\n%s", out)
	assert.NotEqual(t, "0", d[1], "HipChat's room webhooks reached the feeds' owners through the load balancer")
}
