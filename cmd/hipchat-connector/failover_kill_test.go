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
// until its lease expired (the last one owns every feed; three lease TTLs at least) and resumed:
// its late commits are fenced and it joins again. Each phase waits for what it needs (deliveries,
// feeds owned, a settled outbox), never a fixed time. Every message is delivered, a repeat only under its own webhook-id, and no token makes
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
	}, time.Minute, 100*time.Millisecond, "feeds owned: %v", owned)
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

	// ownedBy waits until the replicas rs own every feed between them, each holding some when spread.
	ownedBy := func(what string, spread bool, rs ...*binaryRun) {
		t.Helper()
		var got []int
		require.Eventually(t, func() bool {
			got = got[:0]
			total, holders := 0, 0
			for _, r := range rs {
				n := r.feedsOwned(t)
				got = append(got, n)
				total, holders = total+max(n, 0), holders+min(max(n, 0), 1)
			}
			return total == rooms && (!spread || holders == len(rs))
		}, time.Minute, 50*time.Millisecond, "%s: feeds owned %v", what, got)
	}
	// flowing waits until every feed has had n more messages delivered.
	flowing := func(n int) {
		t.Helper()
		from := map[string]int{}
		for _, f := range feeds {
			from[f.sub] = sk.received(f.sub)
		}
		require.Eventually(t, func() bool {
			for _, f := range feeds {
				if sk.received(f.sub) < from[f.sub]+n {
					return false
				}
			}
			return true
		}, time.Minute, 50*time.Millisecond, "messages flowing through every feed")
	}

	flowing(3) // messages flowing through all three
	killed := slices.Index(owned, slices.Max(owned))
	killedAt := time.Now()
	replicas[killed].kill9()
	t.Logf("SIGKILL replica %d (owning %d of %d feeds)", killed, owned[killed], rooms)

	paused := (killed + 1) % len(replicas)
	last := 3 - killed - paused
	ownedBy("its lease expires, its feeds move", true, replicas[paused], replicas[last])
	flowing(2)
	pausedAt := time.Now()
	require.NoError(t, replicas[paused].cmd.Process.Signal(syscall.SIGSTOP))
	ownedBy("the paused one's lease expires, the last takes every feed", false, replicas[last])
	if wait := 3*ttl - time.Since(pausedAt); wait > 0 {
		time.Sleep(wait) // a pause of three lease TTLs at least, as a long GC or a stopped VM
	}
	require.NoError(t, replicas[paused].cmd.Process.Signal(syscall.SIGCONT))
	t.Logf("SIGSTOP replica %d for %s (until its lease expired), then SIGCONT", paused, time.Since(pausedAt).Round(time.Millisecond))

	ownedBy("the paused one joins again", true, replicas[paused], replicas[last])
	flowing(2)
	close(stop)
	<-posted
	mu.Lock()
	defer mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for !sk.hasAll(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, sk.hasAll(want), "every message delivered within 60 s of the last post")
	settle(t, replicas[paused].metricsPage, replicas[last].metricsPage) // every feed read twice more: nothing else may arrive

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
	// Not the first replica: it spent the burst of tokens it has not seen HipChat accept on the
	// first subscriptions, and 16 new ones would wait 2 s each for their turn.
	creator, other := survivors[1], survivors[0]
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
	require.Eventually(t, func() bool { return sk.hasAll(late) }, time.Minute, 50*time.Millisecond,
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
