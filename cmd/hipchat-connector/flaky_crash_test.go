package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBestEffortDeliveriesUnderAFlakySinkAndKill9 is issue 11's flaky-sink test: 300 messages over
// 3 best-effort subscriptions, a sink that answers 500 to the first attempt of every third event,
// and the connector killed with SIGKILL three times while they flow. Every message arrives, each
// repeat under its own webhook-id, within 60 s of the last post (main took 184 s: every failed
// head held up its whole subscription for its 5 s retry) beyond the window a restart after a crash
// leaves each connection's background budget to the calls the killed process may have made
// (crashBudgetWait: a minute in production, 2 s in the binary this test links).
func TestBestEffortDeliveriesUnderAFlakySinkAndKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it for about half a minute")
	}
	const rooms, messages = 3, 300
	dir := t.TempDir()
	bin := buildCrashBinary(t, dir)

	ctx := context.Background()
	emu := startEmulator(t)
	sim := emu.client
	sk := newCrashSink(t)
	sk.failEvery = 3

	db := filepath.Join(dir, "state.db")
	proc := startBinary(t, bin, dir, "serve", "-addr", "127.0.0.1:0", "-db", db, "-hipchat-url", emu.URL,
		"-poll-schedule", "@every 1s", "-allow-private-callbacks")
	type watched struct {
		token, room, sub string
		posted           []string
	}
	watch := make([]*watched, rooms)
	for i := range watch {
		p, err := sim.NewPerson(ctx, emu.admin, fmt.Sprintf("Flaky %d", i), fmt.Sprintf("flaky%d", i))
		require.NoError(t, err)
		room, err := sim.CreateRoom(ctx, p.Token, fmt.Sprintf("Flaky room %d", i), "public")
		require.NoError(t, err)
		w := &watched{token: p.Token, room: strconv.Itoa(room)}
		w.sub = proc.subscribe(w.token, w.room, sk, "best_effort")
		watch[i] = w
	}

	// 300 messages over about 6 s; a SIGKILL and a restart at 1.5 s, 3 s and 4.5 s.
	posted := make(chan time.Time, 1)
	go func() {
		for n := 0; n < messages; n++ {
			w := watch[n%rooms]
			id, err := sim.PostMessage(ctx, w.token, w.room, fmt.Sprintf("flaky %d", n))
			if err != nil {
				t.Errorf("posting message %d: %v", n, err)
				break
			}
			w.posted = append(w.posted, id)
			time.Sleep(20 * time.Millisecond)
		}
		posted <- time.Now()
	}()
	for kill := 0; kill < 3; kill++ {
		time.Sleep(1500 * time.Millisecond)
		proc.kill9()
		proc = startBinary(t, bin, dir, proc.args...)
	}
	lastPost := <-posted

	want := map[string][]string{}
	for _, w := range watch {
		want[w.sub] = w.posted
	}
	deadline := lastPost.Add(60*time.Second + crashBudgetWait)
	for !sk.hasAll(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	proc.stop()

	require.True(t, sk.hasAll(want), "every message arrived within 60 s of the last post and the crash's budget wait")
	requireCrashResumes(t, dir, 3)
	first, repeats := sk.check(t)
	for _, w := range watch {
		assert.ElementsMatch(t, w.posted, first[w.sub], "room %s: every message", w.room)
	}
	sk.mu.Lock()
	took := sk.lastAt.Sub(lastPost)
	sk.mu.Unlock()
	t.Logf("flaky sink, 3 kills: %d events sent, %d delivered, %d requests (%d repeats, each under its own webhook-id); the last arrived %s after the last post",
		messages, len(first[watch[0].sub])+len(first[watch[1].sub])+len(first[watch[2].sub]), sk.count(), repeats, took.Round(100*time.Millisecond))
}
