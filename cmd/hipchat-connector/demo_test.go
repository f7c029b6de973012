package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

// fastDemoArgs are the demo's flags for tests: an event every second and a poll every second.
func fastDemoArgs(tb testing.TB, extra ...string) []string {
	args := []string{"demo", "-interval", "1s", "-poll-schedule", "@every 1s", "-db", filepath.Join(tb.TempDir(), "demo.db")}
	return append(args, extra...)
}

var summaryLine = regexp.MustCompile(`summary after \S+: (\d+) deliveries \(OnNewMessageWebhook (\d+), OnNewFileWebhook (\d+), OnNewRoomWebhook (\d+)\), every signature verified`)

// TestDemoDeliversEveryTrigger is the newcomer's first command with -duration: every webhook
// trigger is delivered to the sink and every signature verifies, and the demo says how it polls
// and how to try the connector by hand.
func TestDemoDeliversEveryTrigger(t *testing.T) {
	t.Parallel()
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	err := run(context.Background(), fastDemoArgs(t, "-duration", "20s"), noEnv, stdout, stderr)
	out := stdout.String()
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, stderr)

	m := summaryLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no summary line in:\n%s", out)
	for i, op := range []string{"OnNewMessageWebhook", "OnNewFileWebhook", "OnNewRoomWebhook"} {
		n, _ := strconv.Atoi(m[i+2])
		require.Positive(t, n, "%s deliveries", op)
		require.Regexp(t, `(?m)^\d\d:\d\d:\d\d  `+op+` .* signature ok(, [0-9.]+s after it was posted)?$`, out)
	}
	require.NotContains(t, out, "FAILED")
	require.Contains(t, out, "polling every 1s — production default is 1 minute")
	require.Regexp(t, `curl -sS -H 'Authorization: Bearer [0-9a-f]+' http://127\.0\.0\.1:\d+/rooms/1/members`, out)
	require.Regexp(t, `curl -si -H 'Authorization: Bearer [0-9a-f]+' http://127\.0\.0\.1:\d+/triggers/rooms/1/messages`, out)
	require.Regexp(t, `export HIPCHAT=http://\S+ ADMIN=\S+ CONNECTOR=http://\S+ TOKEN=\S+ ROOM=1`, out)
	// The file delivery names the file and the room by name.
	require.Regexp(t, `OnNewFileWebhook +Demo +Bob Stone shared release-1\.txt`, out)
	// A newcomer sees a few actions at work, and what they caused.
	for _, action := range []string{`ReplyToMessage +Demo +Ann Lee replied to Bob Stone`, `SetRoomTopic +Demo +Ann Lee set the topic to "release 1 is out`,
		`SendNotification +Demo +CI sent a green notification with a card: "Build #1"`} {
		require.Regexp(t, `(?m)^\d\d:\d\d:\d\d  `+action+`.*\(an action, through the connector\)$`, out)
	}
	require.Regexp(t, `OnNewMessageWebhook +Demo +Ann Lee: "@bob checked deploy #1: all green"`, out, "the reply is delivered")
	require.Regexp(t, `OnNewMessageWebhook +Demo +CI \(notification\): "build #1 passed"`, out, "the notification is delivered")
}

// TestDemoStopsOnCancel: Ctrl-C (ctx) stops a demo without -duration cleanly, with a summary.
func TestDemoStopsOnCancel(t *testing.T) {
	t.Parallel()
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, fastDemoArgs(t), noEnv, stdout, stderr) }()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "deliveries:\n") }, 20*time.Second, 10*time.Millisecond,
		"stdout:\n%s\nstderr:\n%s", stdout, stderr)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "stderr:\n%s", stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
	require.Contains(t, stdout.String(), "\nsummary after ")
	require.Contains(t, stdout.String(), "\nstopping: ", "Ctrl-C is acknowledged at once")
	require.Less(t, strings.Index(stdout.String(), "\nstopping: "), strings.Index(stdout.String(), "\nsummary after "))
	require.Contains(t, stdout.String(), "a shared file shows twice", "the double file delivery is explained")
}

// TestDemoFailsToStart: a part that cannot start makes the demo fail at once, without a summary.
func TestDemoFailsToStart(t *testing.T) {
	t.Parallel()
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	dbPath := filepath.Join(t.TempDir(), "missing", "dir", "demo.db")
	err := run(context.Background(), []string{"demo", "-db", dbPath}, noEnv, stdout, stderr)
	require.ErrorContains(t, err, "connector: ")
	require.NotContains(t, stdout.String(), "summary")
}

func TestDemoFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" means errUsage
	}{
		{"unknown flag", []string{"-nope"}, ""},
		{"extra argument", []string{"now"}, ""},
		{"zero interval", []string{"-interval", "0s"}, "-interval 0s: must be positive"},
		{"negative duration", []string{"-duration", "-1s"}, "-duration -1s: must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"demo"}, tc.args...), noEnv, &lockedBuffer{}, &lockedBuffer{})
			if tc.wantErr == "" {
				require.ErrorIs(t, err, errUsage)
			} else {
				require.EqualError(t, err, tc.wantErr)
			}
		})
	}
}

// TestDemoIgnoresEnvironment: neither the demo nor its connector reads HIPCHAT_CONNECTOR_* (a
// production serve's -db, -hipchat-url or key must not leak into the demo). Every variable holds a
// bogus value, which would fail the demo's flags or the connector's key if read; the demo instead
// runs until its 1 ms -duration ends.
func TestDemoIgnoresEnvironment(t *testing.T) {
	t.Parallel()
	bogus := func(name string) string {
		if strings.HasPrefix(name, envPrefix) {
			return "bogus"
		}
		return ""
	}
	stderr := &lockedBuffer{}
	err := run(context.Background(), fastDemoArgs(t, "-duration", "1ms"), bogus, &lockedBuffer{}, stderr)
	require.ErrorContains(t, err, "the demo ended before its subscriptions were made", "stderr:\n%s", stderr)
	require.NotContains(t, err.Error(), envPrefix)
}

// TestDemoShowsItsPagesAndAnOperatorCredential: the demo prints where the sandbox page and the
// console are, and runs its connector with an operator credential it prints, so that the console's
// operator half and the /admin/ routes can be tried: the credential is taken, anything else is not.
func TestDemoShowsItsPagesAndAnOperatorCredential(t *testing.T) {
	t.Parallel()
	demo := startDemo(t)
	out := demo.stdout.String()
	hipchat, connector, operator := demo.exports["HIPCHAT"], demo.exports["CONNECTOR"], demo.exports["OPERATOR"]
	require.NotEmpty(t, operator, "the export line carries OPERATOR")
	require.Contains(t, out, "  sandbox page  "+hipchat+"/  ")
	require.Contains(t, out, "  console       "+connector+"/console  ")
	require.Contains(t, out, "operator credential "+operator+")")

	for _, page := range []string{hipchat + "/", connector + "/console"} {
		resp, err := http.Get(page)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, page)
		require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), page)
	}
	admin := func(credential string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, connector+"/admin/subscriptions", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+credential)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	status, body := admin(operator)
	require.Equal(t, http.StatusOK, status, body)
	var list struct{ Items []struct{ ID string } }
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Items, 3, "the demo's three subscriptions")
	status, _ = admin(demo.exports["TOKEN"])
	require.Equal(t, http.StatusUnauthorized, status, "a HipChat token is no operator credential")
}
