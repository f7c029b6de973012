package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

// TestReplicasSurviveKill9AndSIGSTOP runs three replicas of the binary on one embedded etcd, the
// emulator and a sink, with messages flowing in 20 rooms (one poster and token each). One replica
// is killed with SIGKILL (its lease expires after the TTL), then another is stopped with SIGSTOP
// for three lease TTLs and resumed: its lease is gone, so its late commits are fenced and it joins
// again. Every message is delivered, a repeat only under its own webhook-id, and no token makes
// more than 100 calls in any 60 s (the emulator's /_sim/calls). It logs, per feed, the longest
// gap between two deliveries around each fault: the failover time of the feeds that moved. Last,
// subscriptions created through one survivor are served at once by whichever owns their feeds.
func TestReplicasSurviveKill9AndSIGSTOP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three replicas for about half a minute")
	}
	const rooms, ttl = 20, time.Second
	dir := t.TempDir()
	bin := buildBinary(t, dir)

	etcd := etcdtest.Start(t)
	emu := startEmulator(t)
	sim := emu.client
	sk := newCrashSink(t)
	ctx := context.Background()
	args := []string{"serve", "-addr", "127.0.0.1:0", "-hipchat-url", emu.URL,
		"-etcd-endpoints", etcd.Endpoint, "-etcd-prefix", "/ha-kill", "-etcd-lease-ttl", ttl.String(),
		"-key-file", filepath.Join(dir, "ha.key"), "-poll-schedule", "@every 1s",
		"-allow-private-callbacks", "-push=false"}
	replicas := []*binaryRun{startBinary(t, bin, dir, args...)}

	type feed struct {
		token, room, sub string
	}
	feeds := make([]feed, rooms)
	for i := range feeds {
		p, err := sim.NewPerson(ctx, emu.admin, fmt.Sprintf("HA Poster %d", i), fmt.Sprintf("haposter%d", i))
		require.NoError(t, err)
		room, err := sim.CreateRoom(ctx, p.Token, fmt.Sprintf("HA room %d", i), "public")
		require.NoError(t, err)
		feeds[i] = feed{token: p.Token, room: strconv.Itoa(room)}
		feeds[i].sub = replicas[0].subscribe(p.Token, feeds[i].room, sk, "best_effort")
	}
	replicas = append(replicas, startBinary(t, bin, dir, args...), startBinary(t, bin, dir, args...))
	var owned []int
	require.Eventually(t, func() bool {
		owned = owned[:0]
		total, holders := 0, 0
		for _, r := range replicas {
			n := r.feedsOwned(t)
			owned = append(owned, n)
			total += n
			if n > 0 {
				holders++
			}
		}
		return total == rooms && holders == len(replicas)
	}, 20*time.Second, 100*time.Millisecond, "feeds owned: %v", owned)
	t.Logf("feeds owned by the three replicas: %v", owned)

	// A message in every room every 400 ms until stop is closed.
	var mu sync.Mutex
	want := map[string][]string{}
	stop, posted := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(posted)
		for round := 0; ; round++ {
			for _, f := range feeds {
				id, err := sim.PostMessage(ctx, f.token, f.room, fmt.Sprintf("round %d", round))
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				want[f.sub] = append(want[f.sub], id)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(400 * time.Millisecond):
			}
		}
	}()

	time.Sleep(3 * time.Second) // messages flowing through all three
	killed := slices.Index(owned, slices.Max(owned))
	killedAt := time.Now()
	replicas[killed].kill9()
	t.Logf("SIGKILL replica %d (owning %d of %d feeds)", killed, owned[killed], rooms)

	time.Sleep(4 * time.Second) // its lease expires, its feeds move
	paused := (killed + 1) % len(replicas)
	pausedAt := time.Now()
	require.NoError(t, replicas[paused].cmd.Process.Signal(syscall.SIGSTOP))
	time.Sleep(3 * ttl)
	require.NoError(t, replicas[paused].cmd.Process.Signal(syscall.SIGCONT))
	t.Logf("SIGSTOP replica %d for %s, then SIGCONT", paused, 3*ttl)

	time.Sleep(3 * time.Second)
	close(stop)
	<-posted
	mu.Lock()
	defer mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for !sk.hasAll(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, sk.hasAll(want), "every message delivered within 60 s of the last post")
	time.Sleep(1500 * time.Millisecond) // a tick more: nothing else may arrive

	total := 0
	for _, ids := range want {
		total += len(ids)
	}
	first, repeats := sk.check(t)
	delivered := 0
	for sub, ids := range want {
		assert.ElementsMatch(t, ids, first[sub], "subscription %s: each message, nothing else", sub)
		delivered += len(first[sub])
	}
	t.Logf("%d messages posted, %d delivered, %d repeats (each under its first webhook-id)", total, delivered, repeats)
	t.Logf("failover, longest gap between deliveries of one feed around the SIGKILL: %s", longestGaps(sk.arrivals(), killedAt))
	t.Logf("failover, longest gap between deliveries of one feed around the SIGSTOP: %s", longestGaps(sk.arrivals(), pausedAt))

	for i, f := range feeds {
		calls, err := sim.CallsOf(ctx, f.token)
		require.NoError(t, err)
		require.Positive(t, calls.Total, "room %d's token was read", i)
		assert.LessOrEqual(t, calls.MaxInAny60s, 100, "room %d's token: at most 100 calls in any 60 s", i)
	}

	// A subscription created through one survivor is read by whichever replica owns its feed, now
	// rather than at the next resync (5 minutes): the other survivor learns of it from etcd's watch.
	var survivors []*binaryRun
	for i, r := range replicas {
		if i != killed {
			survivors = append(survivors, r)
		}
	}
	creator, other := survivors[0], survivors[1]
	otherOwned := other.feedsOwned(t)
	late := map[string][]string{}
	for i := 0; i < 16; i++ { // 16 feeds: all on the creator by chance once in 65,536 runs
		p, err := sim.NewPerson(ctx, emu.admin, fmt.Sprintf("Late Poster %d", i), fmt.Sprintf("lateposter%d", i))
		require.NoError(t, err)
		room, err := sim.CreateRoom(ctx, p.Token, fmt.Sprintf("Late room %d", i), "public")
		require.NoError(t, err)
		sub := creator.subscribe(p.Token, strconv.Itoa(room), sk, "best_effort")
		id, err := sim.PostMessage(ctx, p.Token, strconv.Itoa(room), "after the failover")
		require.NoError(t, err)
		late[sub] = []string{id}
	}
	require.Eventually(t, func() bool { return sk.hasAll(late) }, 20*time.Second, 50*time.Millisecond,
		"the messages of subscriptions created after the failover")
	require.Greater(t, other.feedsOwned(t), otherOwned, "the other survivor reads some of the new feeds")

	for _, r := range survivors {
		r.stop()
	}
}

// feedsOwned reads the replica's hipchat_connector_cluster_feeds_owned (-1 when absent).
func (p *binaryRun) feedsOwned(t *testing.T) int {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := feedsOwnedLine.FindStringSubmatch(string(body))
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// longestGaps describes, over the feeds, the gap between the last delivery before at and the first
// after it: the largest, and the median.
func longestGaps(arrivals map[string][]time.Time, at time.Time) string {
	var gaps []time.Duration
	for _, times := range arrivals {
		i, _ := slices.BinarySearchFunc(times, at, func(a, b time.Time) int { return a.Compare(b) })
		if i == 0 || i == len(times) {
			continue
		}
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	if len(gaps) == 0 {
		return "no feed delivered on both sides"
	}
	slices.Sort(gaps)
	return fmt.Sprintf("largest %s, median %s over %d feeds", gaps[len(gaps)-1].Round(time.Millisecond),
		gaps[len(gaps)/2].Round(time.Millisecond), len(gaps))
}
