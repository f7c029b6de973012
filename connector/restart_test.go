package connector_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
)

// restarted is a second client, as the next process makes it, on the same clock.
func restarted(clock *manualclock.Clock) (*connector.Client, *connector.Limiter) {
	limiter := connector.NewLimiter(connector.LimiterOptions{Now: clock.Now})
	return connector.NewClient(connector.ClientOptions{Limiter: limiter, Now: clock.Now}), limiter
}

// restartedAfter is the limiter of a new process started gap after stopped saved its restart state
// at its graceful stop, and resumed from it (through JSON, as the state file holds it).
func restartedAfter(t *testing.T, stopped *connector.Client, clock *manualclock.Clock, gap time.Duration) *connector.Limiter {
	t.Helper()
	saved, err := json.Marshal(stopped.RestartState())
	require.NoError(t, err)
	clock.Advance(gap)
	next, limiter := restarted(clock)
	var state connector.RestartState
	require.NoError(t, json.Unmarshal(saved, &state))
	next.Resume(state)
	return limiter
}

// takeAll takes foreground calls of id until the limiter refuses one, and returns how many it took
// and the refusal's RetryAfter.
func takeAll(l *connector.Limiter, id string, class connector.Class) (int, time.Duration) {
	for n := 0; ; n++ {
		if ok, retry := l.TryAcquire(id, class); !ok {
			return n, retry
		}
	}
}

// What a process saved at its graceful stop counts in the next one: the window's calls are spent
// there too, and HipChat's hold stands.
func TestAGracefulRestartKeepsEachConnectionsWindow(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	first, limiter := restarted(clock)
	for range 60 {
		ok, _ := limiter.TryAcquire("conn_a", connector.Foreground)
		require.True(t, ok)
	}
	limiter.BlockUntil("conn_b", clock.Now().Add(2*time.Minute))
	nextLimiter := restartedAfter(t, first, clock, 10*time.Second)

	n, retry := takeAll(nextLimiter, "conn_a", connector.Foreground)
	assert.Equal(t, 30, n, "90 foreground calls in any window: 60 were made before the restart")
	assert.InDelta(t, (51 * time.Second).Seconds(), retry.Seconds(), 0.01, "until the first saved call leaves the window")
	ok, retry := nextLimiter.TryAcquire("conn_b", connector.Background)
	assert.False(t, ok, "HipChat's hold survives the restart")
	assert.InDelta(t, (110 * time.Second).Seconds(), retry.Seconds(), 0.01)

	clock.Advance(51*time.Second + time.Millisecond)
	n, _ = takeAll(nextLimiter, "conn_a", connector.Foreground)
	assert.Equal(t, 60, n, "the saved calls left the window")
}

// After a crash nothing was saved: each connection's background share is taken as spent at the
// restart, for one window; actions answer from what that leaves.
func TestAfterACrashTheBackgroundShareWaitsOneWindow(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	client, limiter := restarted(clock)
	client.ResumeAfterCrash()

	clock.Advance(5 * time.Second)
	ok, retry := limiter.TryAcquire("conn_a", connector.Background)
	assert.False(t, ok, "the poller waits")
	assert.InDelta(t, (56 * time.Second).Seconds(), retry.Seconds(), 0.01)
	n, _ := takeAll(limiter, "conn_a", connector.Foreground)
	assert.Equal(t, 25, n, "100 in any window, 75 of them assumed for the poller")

	clock.Advance(56*time.Second + time.Millisecond)
	ok, _ = limiter.TryAcquire("conn_b", connector.Background)
	assert.True(t, ok, "a connection first seen a window after the restart has its whole budget")
	ok, _ = limiter.TryAcquire("conn_a", connector.Background)
	assert.True(t, ok, "the assumed calls left the window")
	assert.Empty(t, client.RestartState().Connections["conn_b"].Foreground)
	assert.Len(t, client.RestartState().Connections["conn_a"].Background, 1, "assumed calls are not saved as made")
}

// The tokens HipChat accepted are kept in the store as they are accepted, so after a restart (a
// A graceful stop within a window of a crash: the calls the crashed process may have made are as
// unknown to the next process as they were to this one, so the background share stays spent until
// a window after the crash, for every connection, seen since the crash or not.
func TestAGracefulStopSoonAfterACrashKeepsTheCrashsAssumption(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	afterCrash, limiter := restarted(clock)
	afterCrash.ResumeAfterCrash()
	n, _ := takeAll(limiter, "conn_a", connector.Background)
	require.Equal(t, 0, n, "the background share waits a window after the crash")
	nextLimiter := restartedAfter(t, afterCrash, clock, 10*time.Second)
	for _, conn := range []string{"conn_a", "conn_b"} {
		n, retry := takeAll(nextLimiter, conn, connector.Background)
		assert.Equal(t, 0, n, "%s: the crash was 10 s ago", conn)
		assert.InDelta(t, (51 * time.Second).Seconds(), retry.Seconds(), 0.01, conn)
	}
}

// crash too) they are not held back as unknown ones.
func TestKnownTokensAreRecalledAfterARestart(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	ctx := context.Background()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{Key: testkit.StoreKey()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	ann := connector.NewConnection(up.ann.Token, up.url)

	first := newClient(connector.ClientOptions{Now: clock.Now, UnverifiedBurst: 1})
	keeping, stop := context.WithCancel(ctx)
	kept := make(chan error, 1)
	go func() { kept <- first.KeepKnownTokens(keeping, store, time.Hour, func(err error) { t.Error(err) }) }()
	_, err = first.GetUser(ctx, ann, "@ann")
	require.NoError(t, err)
	stop() // the process ends: what it learnt is written
	require.NoError(t, <-kept)
	known, err := store.KnownConnections()
	require.NoError(t, err)
	assert.Equal(t, []string{ann.ID}, known, "kept by its hash, never the token")

	next := newClient(connector.ClientOptions{Now: clock.Now, UnverifiedBurst: 1})
	require.NoError(t, next.RecallKnownTokens(store))
	_, err = next.GetUser(ctx, connector.NewConnection("invented", up.url), "@ann")
	require.Equal(t, connector.KindTokenRejected, connector.KindOf(err), "spends the one unverified call")
	_, err = next.GetUser(ctx, connector.NewConnection("invented-2", up.url), "@ann")
	require.Equal(t, connector.KindRateLimited, connector.KindOf(err), "the unverified budget is spent")
	_, err = next.GetUser(ctx, ann, "@ann")
	assert.NoError(t, err, "Ann's token was known before the restart")
}

// ResumeFrom a bbolt store: a new file is a clean start; a start after a graceful stop (SaveTo) takes
// up the windows; a start after one that did not save is a crash.
func TestResumeFromTellsAGracefulStopFromACrash(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "state.db")
	open := func() *bolt.Store {
		s, err := bolt.Open(path, bolt.Options{Key: testkit.StoreKey()})
		require.NoError(t, err)
		return s
	}
	store := open()
	first, limiter := restarted(clock)
	crashed, err := first.ResumeFrom(store)
	require.NoError(t, err)
	assert.False(t, crashed, "a new file")
	for range 10 {
		ok, _ := limiter.TryAcquire("conn_a", connector.Foreground)
		require.True(t, ok)
	}
	require.NoError(t, first.SaveTo(store))
	require.NoError(t, store.Close())

	store = open()
	next, nextLimiter := restarted(clock)
	crashed, err = next.ResumeFrom(store)
	require.NoError(t, err)
	assert.False(t, crashed, "after a graceful stop")
	n, _ := takeAll(nextLimiter, "conn_a", connector.Foreground)
	assert.Equal(t, 80, n, "the ten saved calls count")
	require.NoError(t, store.Close()) // no SaveTo: a crash

	store = open()
	defer store.Close()
	third, _ := restarted(clock)
	crashed, err = third.ResumeFrom(store)
	require.NoError(t, err)
	assert.True(t, crashed, "the last run saved nothing")
}
