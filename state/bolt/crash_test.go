package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"bufio"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

var crashSubs = []string{"s1", "s2", "s3"}

// TestCrashAtRandomMoments kills (SIGKILL) a process that commits feeds and
// records attempts as fast as it can, at random moments, and checks after
// each crash that the file is sound, every cursor matches the outbox, and
// every queue is a delivered prefix followed by pending deliveries.
func TestCrashAtRandomMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	d := newTestDB(t)
	for _, id := range crashSubs {
		d.subscribe(id)
	}
	require.NoError(t, d.Close())

	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STATE_CRASH_DB="+d.path, "STATE_CRASH_KEY="+hex.EncodeToString(d.opts.Key))
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := bufio.NewScanner(stdout)
		for range 10 + rand.IntN(40) {
			require.True(t, lines.Scan(), "child stopped early (round %d)", round)
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()

		d.Store = d.open()
		require.NoError(t, d.Check())
		for _, id := range crashSubs {
			checkQueueAfterCrash(t, d, id)
		}
		require.NoError(t, d.Close())
	}
	d.Store = d.open()
}

func checkQueueAfterCrash(t *testing.T, d *testDB, subID string) {
	t.Helper()
	sub, err := d.Subscription(subID)
	require.NoError(t, err)
	last, err := strconv.Atoi(string(sub.Cursor))
	require.NoError(t, err, "cursor %q", sub.Cursor)
	log, err := d.Deliveries(subID, 0)
	require.NoError(t, err)
	require.Equal(t, last, len(log), "%s: one delivery per event up to the cursor, no gap, no repeat", subID)

	pendingSeen := false
	for i := range log {
		dl := log[len(log)-1-i] // oldest first
		require.Equal(t, fmt.Sprint("e", i+1), dl.EventID, subID)
		require.Equal(t, uint64(i+1), dl.Seq, subID)
		require.Equal(t, state.DeliveryID(subID, dl.EventID), dl.ID)
		if dl.Status == state.DeliveryPending {
			pendingSeen = true
		} else {
			require.False(t, pendingSeen, "%s: %s finished after a pending one", subID, dl.EventID)
		}
	}
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		pending := pendingOf(tx, subID)
		want := 0
		for _, dl := range log {
			if dl.Status == state.DeliveryPending {
				want++
			}
		}
		assert.Equal(t, want, pending, "%s: pending index matches the log", subID)
		return nil
	}))
}

// TestCrashChild is the process TestCrashAtRandomMoments kills. It resumes
// from the stored cursors, re-commits its last event (as a poller that did
// not see its commit land would), then commits one event per subscription
// per round and delivers or retries the heads, printing a line per round.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("STATE_CRASH_DB")
	if path == "" {
		t.Skip("run by TestCrashAtRandomMoments")
	}
	key, err := state.ParseKey(os.Getenv("STATE_CRASH_KEY"))
	require.NoError(t, err)
	s, err := Open(path, Options{Key: key, Timeout: 5 * time.Second})
	require.NoError(t, err)

	next := map[string]int{}
	for _, id := range crashSubs {
		sub, err := s.Subscription(id)
		require.NoError(t, err)
		n, _ := strconv.Atoi(string(sub.Cursor))
		next[id] = max(n, 1)
	}
	for round := 0; ; round++ {
		var advances []state.CursorAdvance
		for _, id := range crashSubs {
			n := next[id]
			advances = append(advances, state.CursorAdvance{
				SubscriptionID: id, Cursor: []byte(strconv.Itoa(n)),
				Events: []state.Event{{ID: fmt.Sprint("e", n), Type: "message.created", Payload: []byte("{}")}},
			})
			next[id] = n + 1
		}
		require.NoError(t, s.CommitFeed(advances))
		due, err := s.DueDeliveries(time.Now(), 0, nil)
		require.NoError(t, err)
		for _, dl := range due {
			outcome := state.Delivered()
			if rand.IntN(3) == 0 {
				outcome = state.RetryAt(time.Now())
			}
			require.NoError(t, s.RecordAttempt(dl.SubscriptionID, dl.Seq, state.Attempt{StatusCode: 200}, outcome))
		}
		fmt.Println(round)
	}
}
