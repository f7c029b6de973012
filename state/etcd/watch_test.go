package etcd_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// TestWatchSubscriptionsReportsSettingsNotProgress: a second store on the same prefix (another
// replica) hears of a created, paused, re-secreted and deleted subscription, and not of cursor
// advances, queued events or recorded attempts. Events arrive in write order, so the id after a
// progress-only write must be the next settings change's.
func TestWatchSubscriptionsReportsSettingsNotProgress(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	prefix := newPrefix()
	open := func() *etcd.Store {
		s, err := etcd.Open(context.Background(), etcd.Options{Client: client, Prefix: prefix, Key: testKey(7)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	writer, watcher := open(), open()
	create := func(room string) state.Subscription { return createWatched(t, writer, room) }
	ctx, cancel := context.WithCancel(context.Background())
	// The watch starts in its own goroutine, and a write made before etcd set it up is not seen: a
	// warm-up subscription, whose reports are kept apart, is paused and resumed until one arrives.
	warm := create("0")
	changed, watching := make(chan string, 16), make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watcher.WatchSubscriptions(ctx, func(id string) {
			if id != warm.ID {
				changed <- id
				return
			}
			select {
			case watching <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	heard := func() bool {
		select {
		case <-watching:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}
	for paused := true; ; paused = !paused {
		status := state.StatusActive
		if paused {
			status = state.StatusPaused
		}
		require.NoError(t, writer.SetStatus(warm.ID, status, "warming up"))
		if heard() {
			break
		}
	}
	next := func() string {
		select {
		case id := <-changed:
			return id
		case <-time.After(10 * time.Second):
			t.Fatal("no change reported within 10 s")
			return ""
		}
	}

	a := create("1")
	require.Equal(t, a.ID, next(), "a created subscription")
	b := create("2")
	require.Equal(t, b.ID, next())

	// Progress on a: a cursor advance with an event, then the attempt recorded. Then b is paused.
	require.NoError(t, writer.CommitFeed([]state.CursorAdvance{{SubscriptionID: a.ID, Cursor: []byte(`{"last_id":"m1"}`),
		Events: []state.Event{{ID: "m1", Type: "message.posted", Payload: []byte(`{"id":"m1"}`)}}}}))
	due, err := writer.DueDeliveries(time.Now().Add(time.Minute), 10, nil)
	require.NoError(t, err)
	require.Len(t, due, 1)
	errs := writer.RecordAttempts([]state.AttemptRecord{{SubscriptionID: a.ID, Seq: due[0].Seq,
		Attempt: state.Attempt{At: time.Now(), StatusCode: 204}, Outcome: state.Outcome{Status: state.DeliveryDelivered}}})
	require.NoError(t, errs[0])
	require.NoError(t, writer.SetStatus(b.ID, state.StatusPaused, "paused by its owner"))
	require.Equal(t, b.ID, next(), "the pause of b, with nothing reported for a's progress before it")

	_, err = writer.RotateSecret(a.ID, "whsec_bmV3LXNlY3JldC1vZi10aGUtd2F0Y2gtdGVzdC1zaW5r", time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, a.ID, next(), "a new secret")
	require.NoError(t, writer.DeleteSubscription(a.ID))
	require.Equal(t, a.ID, next(), "the deletion of a")
}

// endableWatcher is the client's Watcher, whose watches a test can end as etcd ends one (a lost
// leader, a connection gone): the channel closes, and etcd goes on.
type endableWatcher struct {
	clientv3.Watcher
	mu   sync.Mutex
	ends []chan struct{}
}

func (w *endableWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	inner := w.Watcher.Watch(ctx, key, opts...)
	end := make(chan struct{})
	w.mu.Lock()
	w.ends = append(w.ends, end)
	w.mu.Unlock()
	out := make(chan clientv3.WatchResponse)
	go func() {
		defer close(out)
		for {
			select {
			case resp, ok := <-inner:
				if !ok {
					return
				}
				select {
				case out <- resp:
				case <-end:
					return
				}
			case <-end:
				return
			}
		}
	}()
	return out
}

// endAll ends every watch open now, and returns how many there were.
func (w *endableWatcher) endAll() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, end := range w.ends {
		close(end)
	}
	n := len(w.ends)
	w.ends = nil
	return n
}

// When etcd ends the watch, a change made before the watch is opened again is still reported: the
// watch starts again from the revision of the last change it reported, not from the current one,
// which would have passed over it.
func TestAChangeMadeWhileTheWatchIsDownIsReported(t *testing.T) {
	member := etcdtest.Start(t)
	prefix := newPrefix()
	writer, err := etcd.Open(context.Background(), etcd.Options{Client: member.Client(t), Prefix: prefix, Key: testKey(7)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = writer.Close() })
	watchClient := member.Client(t) // the watching replica's own client, whose watches the test ends
	ends := &endableWatcher{Watcher: watchClient.Watcher}
	watchClient.Watcher = ends
	watcher, err := etcd.Open(context.Background(), etcd.Options{Client: watchClient, Prefix: prefix, Key: testKey(7)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = watcher.Close() })

	create := func(room string) state.Subscription { return createWatched(t, writer, room) }
	changed := make(chan string, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watcher.WatchSubscriptions(ctx, func(id string) { changed <- id })
	}()
	t.Cleanup(func() { cancel(); <-done })
	heard := func(want string) bool {
		deadline := time.After(10 * time.Second)
		for {
			select {
			case id := <-changed:
				if id == want {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	// A change heard first (the watch is set up when one is reported), then the watch ends.
	var first state.Subscription
	require.Eventually(t, func() bool {
		first = create("warm")
		return heard(first.ID)
	}, 30*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return ends.endAll() > 0 }, 10*time.Second, 10*time.Millisecond)

	paused := create("made while the watch is down")
	require.True(t, heard(paused.ID), "a subscription created while the watch was down is reported")
}

// createWatched creates a message subscription to room through store, for the watch tests.
func createWatched(t *testing.T, store *etcd.Store, room string) state.Subscription {
	t.Helper()
	sub, err := store.CreateSubscription(state.Subscription{
		ConnectionID: "conn", Kind: triggers.KindMessage, RoomID: room, CallbackURL: "https://sink.example/hook",
		Token: "token-" + room, Secret: "whsec_c2VjcmV0LW9mLXRoZS13YXRjaC10ZXN0LXNpbms=", HipChatURL: "https://hipchat.example",
	})
	require.NoError(t, err)
	return sub
}
