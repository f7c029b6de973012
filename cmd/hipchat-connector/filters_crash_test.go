package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// subscribeFiltered subscribes sk at path (a webhook trigger of the room) with body's filter and
// FIFO ordering, and returns the subscription id.
func (p *binaryRun) subscribeFiltered(token, path string, body map[string]any, sk *crashSink) string {
	p.t.Helper()
	body["callbackUrl"], body["ordering"] = sk.srv.URL+"/hook", "fifo"
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", p.url+path, bytes.NewReader(raw))
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	require.Equal(p.t, http.StatusCreated, resp.StatusCode, string(answer))
	var sub struct{ ID, Secret string }
	require.NoError(p.t, json.Unmarshal(answer, &sub))
	sk.trust(sub.ID, sub.Secret)
	return sub.ID
}

// TestFilteredSubscriptionsSurviveKill9: the real binary, killed with SIGKILL at random moments
// while Bob posts 400 messages, restarted on the same database each time. Afterwards OnMentionWebhook
// and OnKeywordWebhook have received exactly their matches, in order (a repeat after a crash keeps
// its webhook-id), and the database holds one delivered outbox entry per match and nothing else,
// each cursor past the last message.
func TestFilteredSubscriptionsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it for about twenty seconds")
	}
	dir := t.TempDir()
	bin := buildCrashBinary(t, dir)
	ctx := context.Background()
	emu := startEmulator(t)
	ann, err := emu.client.NewPerson(ctx, emu.admin, "Ann Lee", "ann")
	require.NoError(t, err)
	bob, err := emu.client.NewPerson(ctx, emu.admin, "Bob Stone", "bob")
	require.NoError(t, err)
	roomID, err := emu.client.CreateRoom(ctx, ann.Token, "Ops", "public")
	require.NoError(t, err)
	room := strconv.Itoa(roomID)
	sk := newCrashSink(t)
	db := filepath.Join(dir, "state.db")
	proc := startBinary(t, bin, dir, "serve", "-addr", "127.0.0.1:0", "-db", db, "-hipchat-url", emu.URL,
		"-poll-schedule", "@every 1s", "-allow-private-callbacks")
	mention := proc.subscribeFiltered(ann.Token, "/subscriptions/rooms/"+room+"/mentions", map[string]any{}, sk)
	keyword := proc.subscribeFiltered(ann.Token, "/subscriptions/rooms/"+room+"/keywords", map[string]any{"keywords": "outage"}, sk)

	want := map[string][]string{}
	var last string
	posted := make(chan struct{})
	go func() {
		defer close(posted)
		for i := 0; i < 400; i++ {
			text := fmt.Sprintf("message %d", i)
			switch {
			case i%10 == 3 && i%13 == 5:
				text = fmt.Sprintf("@ann outage %d", i)
			case i%10 == 3:
				text = fmt.Sprintf("@ann look at %d", i)
			case i%13 == 5:
				text = fmt.Sprintf("an OUTAGE, %d", i)
			}
			id, err := emu.client.PostMessage(ctx, bob.Token, room, text)
			if err != nil {
				t.Errorf("posting message %d: %v", i, err)
				return
			}
			if i%10 == 3 {
				want[mention] = append(want[mention], id)
			}
			if i%13 == 5 {
				want[keyword] = append(want[keyword], id)
			}
			last = id
			time.Sleep(15 * time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 25))
	for kill := 0; kill < 3; kill++ {
		time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		proc.kill9()
		proc = startBinary(t, bin, dir, proc.args...)
	}
	<-posted
	require.Len(t, want[mention], 40)
	require.Len(t, want[keyword], 31)

	// After the last restart the poller leaves the killed process's window of calls (crashBudgetWait).
	// Done is every match delivered and both cursors past the last message (the messages after the
	// last match are read by a tick of their own, which may come after the last delivery).
	passedLast := func() bool {
		for _, id := range []string{mention, keyword} {
			var view struct {
				Cursor struct {
					LastID string `json:"id"`
				} `json:"cursor"`
			}
			req, err := http.NewRequest("GET", proc.url+"/subscriptions/"+id, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+ann.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			err = json.NewDecoder(resp.Body).Decode(&view)
			resp.Body.Close()
			if err != nil || view.Cursor.LastID != last {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(40*time.Second + crashBudgetWait)
	for !(sk.hasAll(want) && passedLast()) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	proc.stop()
	requireCrashResumes(t, dir, 3)
	first, repeats := sk.check(t)
	assert.Equal(t, want[mention], first[mention], "OnMentionWebhook: every mention once at least, in order, nothing else")
	assert.Equal(t, want[keyword], first[keyword], "OnKeywordWebhook: every outage once at least, in order, nothing else")
	t.Logf("%d requests, %d repeats after 3 SIGKILLs", sk.count(), repeats)

	store := openCheckedStore(t, db)
	for _, id := range []string{mention, keyword} {
		log, err := store.Deliveries(id, 0)
		require.NoError(t, err)
		assert.Len(t, log, len(want[id]), "one outbox entry per match, none for what the filter left out")
		for _, dl := range log {
			assert.Equal(t, state.DeliveryDelivered, dl.Status, "delivery %s", dl.ID)
		}
		sub, err := store.Subscription(id)
		require.NoError(t, err)
		assert.False(t, sub.Filter.IsZero(), "the filter survived every crash")
		cursor, err := triggers.DecodeMessageCursor(sub.Cursor)
		require.NoError(t, err)
		assert.Equal(t, last, cursor.LastID, "the cursor passed every message, matched or not")
	}
}
