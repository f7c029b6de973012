package etcd_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

func eventsNamed(ids ...string) []state.Event {
	var out []state.Event
	for _, id := range ids {
		out = append(out, state.Event{ID: id, Type: "message.posted", Payload: []byte(`{}`)})
	}
	return out
}

// TestTwoStoresCommitTheSameFeedAtOnce: two replicas commit overlapping events of one feed at the
// same time, many rounds; each event is queued once.
func TestTwoStoresCommitTheSameFeedAtOnce(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s")
	b := openSame(t, client, prefix)
	const rounds = 20
	for r := 0; r < rounds; r++ {
		evs := eventsNamed(fmt.Sprintf("e%d-1", r), fmt.Sprintf("e%d-2", r), fmt.Sprintf("e%d-3", r))
		var wg sync.WaitGroup
		for _, s := range []*etcd.Store{a, b} {
			wg.Go(func() {
				assert.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Cursor: []byte(fmt.Sprint(r)), Events: evs}}))
			})
		}
		wg.Wait()
	}
	log, err := a.Deliveries("s", 0)
	require.NoError(t, err)
	assert.Len(t, log, 3*rounds)
	n, err := b.PendingCount("s")
	require.NoError(t, err)
	assert.Equal(t, 3*rounds, n)
	require.NoError(t, etcd.CheckHeads(a))
}

// TestTwoStoresRecordTheSameDeliveryAtOnce: both replicas record a delivered attempt of the same
// deliveries at once; each delivery is recorded once, the other gets ErrNotPending.
func TestTwoStoresRecordTheSameDeliveryAtOnce(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s")
	b := openSame(t, client, prefix)
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("e%d", i))
	}
	require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: eventsNamed(ids...)}}))
	dueA, err := a.DueDeliveries(time.Now(), 0, nil)
	require.NoError(t, err)
	_, err = b.DueDeliveries(time.Now(), 0, nil) // b knows the records too
	require.NoError(t, err)
	require.Len(t, dueA, 40)
	var recs []state.AttemptRecord
	for _, d := range dueA {
		recs = append(recs, state.AttemptRecord{SubscriptionID: "s", Seq: d.Seq, Attempt: state.Attempt{StatusCode: 204}, Outcome: state.Delivered()})
	}
	var errsA, errsB []error
	var wg sync.WaitGroup
	wg.Go(func() { errsA = a.RecordAttempts(recs) })
	wg.Go(func() { errsB = b.RecordAttempts(recs) })
	wg.Wait()
	for i := range recs {
		okA, okB := errsA[i] == nil, errsB[i] == nil
		assert.True(t, okA != okB, "delivery %d recorded by exactly one: %v / %v", i, errsA[i], errsB[i])
		for _, err := range []error{errsA[i], errsB[i]} {
			if err != nil {
				assert.ErrorIs(t, err, state.ErrNotPending)
			}
		}
	}
	log, err := a.Deliveries("s", 0)
	require.NoError(t, err)
	for _, d := range log {
		assert.Len(t, d.Attempts, 1, "delivery %s", d.ID)
		assert.Equal(t, state.DeliveryDelivered, d.Status)
	}
	n, err := a.PendingCount("s")
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, etcd.CheckHeads(a))
}

// TestDeleteRacingCommitsAndAttempts: a subscription deleted by one replica while another commits
// feeds and records attempts leaves nothing of it behind.
func TestDeleteRacingCommitsAndAttempts(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	for round := range 10 {
		a, prefix := openWithSubscription(t, client, testKey(7), "s")
		b := openSame(t, client, prefix)
		require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: eventsNamed("x1", "x2", "x3")}}))
		due, err := a.DueDeliveries(time.Now(), 0, nil)
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range 5 {
				err := a.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: eventsNamed(fmt.Sprintf("y%d", i))}})
				assert.NoError(t, err)
			}
		})
		wg.Go(func() {
			for _, d := range due {
				err := a.RecordAttempt("s", d.Seq, state.Attempt{StatusCode: 500}, state.RetryAt(time.Now().Add(time.Duration(round)*time.Millisecond)))
				if err != nil && !errors.Is(err, state.ErrNotFound) {
					assert.NoError(t, err)
				}
			}
		})
		wg.Go(func() { assert.NoError(t, b.DeleteSubscription("s")) })
		wg.Wait()
		resp, err := client.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		require.NoError(t, err)
		for _, kv := range resp.Kvs {
			k := string(kv.Key)[len(prefix):]
			assert.Regexp(t, `^meta/`, k, "round %d: key left behind", round)
		}
		require.NoError(t, etcd.CheckHeads(a))
	}
}

// TestPruneRacingDeliveries: prune on one replica while the other records attempts; nothing
// pending is pruned and the indexes stay true.
func TestPruneRacingDeliveries(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s")
	b, err := etcd.Open(context.Background(), etcd.Options{Client: client, Prefix: prefix, Key: testKey(7),
		Retention: state.Retention{MaxAge: time.Hour, MaxPerSubscription: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	var ids []string
	for i := range 60 {
		ids = append(ids, fmt.Sprintf("e%d", i))
	}
	require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: eventsNamed(ids...)}}))
	due, err := a.DueDeliveries(time.Now(), 0, nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, d := range due {
			assert.NoError(t, a.RecordAttempt("s", d.Seq, state.Attempt{StatusCode: 204}, state.Delivered()))
		}
	})
	wg.Go(func() {
		for range 10 {
			_, err := b.Prune(time.Now())
			assert.NoError(t, err)
		}
	})
	wg.Wait()
	_, err = b.Prune(time.Now())
	require.NoError(t, err)
	log, err := a.Deliveries("s", 0)
	require.NoError(t, err)
	assert.Len(t, log, 1)
	require.NoError(t, etcd.CheckHeads(a))
}

// TestASplitCommitCutShortLosesNothingAndQueuesNothingTwice: a feed too big for one transaction is
// cut off after each of its parts in turn (the replica's lease lost); a store opened anew commits
// the same read again; every event is queued once and the cursor is the read's.
func TestASplitCommitCutShortLosesNothingAndQueuesNothingTwice(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	var ids []string
	for i := range 130 {
		ids = append(ids, fmt.Sprintf("e%03d", i))
	}
	advances := []state.CursorAdvance{
		{SubscriptionID: "s", Cursor: []byte("c-s"), Events: eventsNamed(ids...)},
		{SubscriptionID: "t", Cursor: []byte("c-t"), Events: eventsNamed(ids[:70]...)},
	}
	for cut := 1; cut <= 10; cut++ {
		a, prefix := openWithSubscription(t, client, testKey(7), "s")
		_, err := a.CreateSubscription(state.Subscription{ID: "t", ConnectionID: "c", Kind: "message", RoomID: "r",
			CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingFIFO})
		require.NoError(t, err)
		grant, err := client.Grant(ctx, 60)
		require.NoError(t, err)
		_, err = client.Put(ctx, prefix+"member", "m", clientv3.WithLease(grant.ID))
		require.NoError(t, err)
		calls := 0
		a.FenceWith(prefix+"member", func() clientv3.LeaseID {
			calls++
			if calls > cut {
				return clientv3.NoLease
			}
			return grant.ID
		})
		err = a.CommitFeed(advances)
		if calls <= cut {
			require.NoError(t, err, "cut %d: done in %d parts", cut, calls)
		} else {
			require.ErrorIs(t, err, etcd.ErrFenced, "cut %d", cut)
		}
		require.NoError(t, a.Close())

		b := openSame(t, client, prefix)
		require.NoError(t, b.CommitFeed(advances), "cut %d", cut)
		for _, adv := range advances {
			log, err := b.Deliveries(adv.SubscriptionID, 0)
			require.NoError(t, err)
			assert.Len(t, log, len(adv.Events), "cut %d: %s", cut, adv.SubscriptionID)
			n, err := b.PendingCount(adv.SubscriptionID)
			require.NoError(t, err)
			assert.Equal(t, len(adv.Events), n, "cut %d: %s", cut, adv.SubscriptionID)
			sub, err := b.Subscription(adv.SubscriptionID)
			require.NoError(t, err)
			assert.Equal(t, adv.Cursor, sub.Cursor)
		}
		require.NoError(t, etcd.CheckHeads(b))
		due, err := b.DueDeliveries(time.Now(), 0, nil)
		require.NoError(t, err)
		assert.Len(t, due, 131, "cut %d: s's 130 and t's FIFO head", cut)
	}
}

// TestTwoReplicasMigrateAtOnce: two stores open a version-1 prefix at the same time; both open,
// and the prefix reads as one migration left it.
func TestTwoReplicasMigrateAtOnce(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	raw, err := os.ReadFile("testdata/schema-v1.json")
	require.NoError(t, err)
	var kvs map[string][]byte
	require.NoError(t, json.Unmarshal(raw, &kvs))
	const prefix = "/fixture/"
	for k, v := range kvs {
		_, err := client.Put(ctx, prefix+k, string(v))
		require.NoError(t, err)
	}
	clk := manualclock.New(time.Date(2026, 3, 1, 12, 0, 3, 0, time.UTC))
	stores := make([]*etcd.Store, 3)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(7), Now: clk.Now})
			if assert.NoError(t, err) {
				stores[i] = s
				t.Cleanup(func() { _ = s.Close() })
			}
		})
	}
	wg.Wait()
	want, err := os.ReadFile("testdata/schema-v1.read.json")
	require.NoError(t, err)
	for _, s := range stores {
		require.NotNil(t, s)
		got, err := json.MarshalIndent(readV1World(t, s, clk.Now()), "", "  ")
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(got))
		require.NoError(t, etcd.CheckHeads(s))
	}
}

// TestAListingCompactedUnderItGoesOn: another replica delivers and compacts etcd's history in
// the middle of a listing (between two of its requests, with more than a page of ready entries and
// of heads); the listing still returns every delivery still due, each once.
func TestAListingCompactedUnderItGoesOn(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	a, prefix := openWithSubscription(t, client, testKey(7), "s0")
	b := openSame(t, client, prefix)
	const subs, each = 70, 20
	for i := range subs {
		id := fmt.Sprintf("s%d", i)
		if i > 0 {
			_, err := a.CreateSubscription(state.Subscription{ID: id, ConnectionID: "c", Kind: "message", RoomID: "r",
				CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort})
			require.NoError(t, err)
		}
		var ids []string
		for j := range each {
			ids = append(ids, fmt.Sprintf("e%d", j))
		}
		require.NoError(t, a.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: eventsNamed(ids...)}}))
	}
	compactions := 0
	picks := 0
	picker := state.PickFunc(func(subID string, seq uint64) state.Pick {
		picks++
		if picks%150 == 0 {
			// b delivers s69's first delivery and compacts everything up to now.
			due, err := b.DueDeliveries(time.Now(), 1, func(id string, _ uint64) bool { return id != "s69" })
			require.NoError(t, err)
			if len(due) == 1 {
				require.NoError(t, b.RecordAttempt("s69", due[0].Seq, state.Attempt{StatusCode: 204}, state.Delivered()))
			}
			resp, err := client.Put(context.Background(), prefix+"unrelated", "x")
			require.NoError(t, err)
			_, err = client.Compact(context.Background(), resp.Header.Revision)
			require.NoError(t, err)
			compactions++
		}
		return state.Take
	})
	due, err := a.PickDue(time.Now(), 0, picker)
	require.NoError(t, err)
	require.Positive(t, compactions)
	seen := map[string]bool{}
	for _, d := range due {
		assert.False(t, seen[d.ID], "listed twice: %s", d.ID)
		seen[d.ID] = true
	}
	total := 0
	for i := range subs {
		n, err := a.PendingCount(fmt.Sprintf("s%d", i))
		require.NoError(t, err)
		total += n
	}
	assert.Equal(t, total, len(due), "every delivery still pending is listed")
}
