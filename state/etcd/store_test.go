package etcd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/delivery"
	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
	"github.com/hipchat-connector/hipchat-connector/state/storetest"
)

// The etcd store is what each consumer declares it needs.
var (
	_ poller.Store             = (*etcd.Store)(nil)
	_ delivery.Store           = (*etcd.Store)(nil)
	_ server.SubscriptionStore = (*etcd.Store)(nil)
	_ storetest.Store          = (*etcd.Store)(nil)
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, state.KeyLength) }

// rawStore is an etcd store with every byte under its prefix.
type rawStore struct {
	*etcd.Store
	client *clientv3.Client
	prefix string
}

// Raw returns every key and value under the prefix, and its history since
// the store was opened (compaction aside, etcd keeps old values).
func (s rawStore) Raw(t *testing.T) []byte {
	resp, err := s.client.Get(context.Background(), s.prefix, clientv3.WithPrefix())
	require.NoError(t, err)
	var all []byte
	for _, kv := range resp.Kvs {
		all = append(all, kv.Key...)
		all = append(all, kv.Value...)
	}
	return all
}

var prefixes atomic.Int64

// newPrefix is a fresh prefix on the shared test server.
func newPrefix() string { return fmt.Sprintf("/test-%d/", prefixes.Add(1)) }

// openWithSubscription opens a store on a new prefix of client with one subscription of id on it
// (best effort), closed when the test ends; it returns the store and its prefix.
// openSame opens another store on prefix through client, with the test key: another replica
// sharing the prefix. It is closed when t ends.
func openSame(t *testing.T, client *clientv3.Client, prefix string) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(context.Background(), etcd.Options{Client: client, Prefix: prefix, Key: testKey(7)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openWithSubscription(t *testing.T, client *clientv3.Client, key []byte, id string) (*etcd.Store, string) {
	t.Helper()
	prefix := newPrefix()
	s, err := etcd.Open(context.Background(), etcd.Options{Client: client, Prefix: prefix, Key: key})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.CreateSubscription(state.Subscription{ID: id, ConnectionID: "c", Kind: "message", RoomID: "r",
		CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort})
	require.NoError(t, err)
	return s, prefix
}

func TestContract(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		prefix := newPrefix()
		s, err := etcd.Open(context.Background(), etcd.Options{
			Client: client, Prefix: prefix, Key: testKey(7), Now: now, Retention: storetest.Retention,
		})
		require.NoError(t, err)
		t.Cleanup(func() {
			assert.NoError(t, etcd.CheckHeads(s), "heads/ against ready/")
			_ = s.Close()
		})
		return rawStore{Store: s, client: client, prefix: prefix}
	})
}

func TestOpen(t *testing.T) {
	srv := etcdtest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	prefix := newPrefix()

	_, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: []byte("short")})
	assert.ErrorIs(t, err, state.ErrInvalid)
	_, err = etcd.Open(ctx, etcd.Options{Key: testKey(7)})
	assert.ErrorIs(t, err, state.ErrInvalid, "neither a client nor endpoints")

	first, err := etcd.Open(ctx, etcd.Options{Endpoints: []string{srv.Endpoint}, Prefix: prefix, Key: testKey(7)})
	require.NoError(t, err)
	second, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(7)})
	require.NoError(t, err)
	assert.Equal(t, first.ServerKey(), second.ServerKey(), "every replica reads the same server key")
	require.NoError(t, first.Close())
	require.NoError(t, second.Close())
	_, err = client.Get(ctx, "any")
	require.NoError(t, err, "closing a store does not close a client it was given")

	_, err = etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(8)})
	assert.ErrorIs(t, err, state.ErrWrongKey)

	other, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: newPrefix(), Key: testKey(7)})
	require.NoError(t, err)
	defer other.Close()
	assert.NotEqual(t, first.ServerKey(), other.ServerKey(), "prefixes are apart")

	_, err = client.Put(ctx, prefix+"meta/schema_version", "99")
	require.NoError(t, err)
	_, err = etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(7)})
	assert.ErrorIs(t, err, state.ErrSchemaVersion)
}

// TestConcurrentWritersLoseNothing runs the poller's commits, the
// deliverer's attempts and API status changes at once: optimistic
// transactions retried on conflict keep every event and every attempt.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	s, err := etcd.Open(context.Background(), etcd.Options{Client: client, Prefix: newPrefix(), Key: testKey(7)})
	require.NoError(t, err)
	defer s.Close()
	for _, id := range []string{"a", "b"} {
		_, err := s.CreateSubscription(state.Subscription{ID: id, ConnectionID: "c", Kind: "message", RoomID: "r",
			CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort})
		require.NoError(t, err)
	}
	const rounds = 30
	done := make(chan error, 3)
	go func() { // poller
		for i := range rounds {
			ev := state.Event{ID: fmt.Sprintf("e%d", i), Payload: []byte(`{}`)}
			err := s.CommitFeed([]state.CursorAdvance{
				{SubscriptionID: "a", Cursor: []byte(ev.ID), Events: []state.Event{ev}},
				{SubscriptionID: "b", Cursor: []byte(ev.ID), Events: []state.Event{ev}},
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	delivered := 0
	go func() { // deliverer
		deadline := time.Now().Add(20 * time.Second)
		for delivered < 2*rounds && time.Now().Before(deadline) {
			due, err := s.DueDeliveries(time.Now().Add(time.Hour), 10, nil)
			if err != nil {
				done <- err
				return
			}
			var records []state.AttemptRecord
			for _, d := range due {
				records = append(records, state.AttemptRecord{SubscriptionID: d.SubscriptionID, Seq: d.Seq,
					Attempt: state.Attempt{StatusCode: 204}, Outcome: state.Delivered()})
			}
			for _, err := range s.RecordAttempts(records) {
				if err != nil && !errors.Is(err, state.ErrNotPending) {
					done <- err
					return
				}
				if err == nil {
					delivered++
				}
			}
		}
		done <- nil
	}()
	go func() { // the API
		for range rounds {
			if _, err := s.UpdateStatus("b", state.StatusActive, "resumed"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 3 {
		require.NoError(t, <-done)
	}
	assert.Equal(t, 2*rounds, delivered, "each event delivered once")
	for _, id := range []string{"a", "b"} {
		log, err := s.Deliveries(id, 0)
		require.NoError(t, err)
		assert.Len(t, log, rounds, id)
		sub, err := s.Subscription(id)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("e%d", rounds-1), string(sub.Cursor))
		assert.False(t, sub.Health.LastDeliveredAt.IsZero(), "the deliverer's health survived the poller's cursor writes")
	}
}

// TestPruneCompactsHistory: etcd keeps every overwritten value until a
// compaction; Prune compacts up to the revision it started at, unless
// KeepHistory.
func TestPruneCompactsHistory(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		s, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: newPrefix(), Key: testKey(7), KeepHistory: keep})
		require.NoError(t, err)
		_, err = s.CreateSubscription(state.Subscription{ID: "s", ConnectionID: "c", Kind: "message", RoomID: "r",
			CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s"})
		require.NoError(t, err)
		require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Cursor: []byte("c1")}}))
		before, err := client.Get(ctx, "any")
		require.NoError(t, err)
		require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Cursor: []byte("c2")}}))
		_, err = s.Prune(time.Now())
		require.NoError(t, err)
		_, err = client.Get(ctx, "any", clientv3.WithRev(before.Header.Revision))
		if keep {
			assert.NoError(t, err, "KeepHistory leaves etcd's history alone")
		} else {
			assert.ErrorContains(t, err, "compacted", "history before the prune is compacted")
		}
		require.NoError(t, s.Close())
	}
}

// TestTheStoreCompactsHistoryALapBehind: each turn of the store's own compaction compacts up to
// the revision it had seen at the turn before, so one period of history always stays; and with
// the default loop running, history is compacted without a Prune.
func TestTheStoreCompactsHistoryALapBehind(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	s, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: newPrefix(), Key: testKey(7), CompactEvery: time.Hour})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.CreateSubscription(state.Subscription{ID: "s", ConnectionID: "c", Kind: "message", RoomID: "r",
		CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s"})
	require.NoError(t, err)
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Cursor: []byte("c1")}}))
	lap := etcd.CompactTurn(s, 0)
	require.Positive(t, lap, "the first turn only notes the revision")
	_, err = client.Get(ctx, "any", clientv3.WithRev(lap-1))
	require.NoError(t, err, "nothing is compacted at the first turn")

	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Cursor: []byte("c2")}}))
	next := etcd.CompactTurn(s, lap)
	assert.Greater(t, next, lap)
	_, err = client.Get(ctx, "any", clientv3.WithRev(lap-1))
	assert.ErrorContains(t, err, "compacted", "history before the last lap is compacted")
	_, err = client.Get(ctx, "any", clientv3.WithRev(lap))
	assert.NoError(t, err, "the last lap's history stays")

	fast, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: newPrefix(), Key: testKey(7), CompactEvery: 10 * time.Millisecond})
	require.NoError(t, err)
	defer fast.Close()
	require.NoError(t, fast.CommitFeed(nil))
	_, err = fast.CreateSubscription(state.Subscription{ID: "f", ConnectionID: "c", Kind: "message", RoomID: "r",
		CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s"})
	require.NoError(t, err)
	written, err := client.Get(ctx, "any")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := client.Get(ctx, "any", clientv3.WithRev(written.Header.Revision-1))
		return err != nil && strings.Contains(err.Error(), "compacted")
	}, 10*time.Second, 5*time.Millisecond, "the store's own loop compacts without a Prune")
}

// TestAListingFindsAnEntryMadeEarlierThanTheHead: a listing reads a subscription's ready entries
// from its head, past the entries already delivered; an entry made due before the head (a
// replica whose clock is behind) moves the head, and the next listing returns it first.
func TestAListingFindsAnEntryMadeEarlierThanTheHead(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := base.Add(10 * time.Second)
	s, err := etcd.Open(context.Background(), etcd.Options{Client: etcdtest.Start(t).Client(t), Prefix: newPrefix(), Key: testKey(7),
		Now: func() time.Time { return now }})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.CreateSubscription(state.Subscription{ID: "s", ConnectionID: "c", Kind: "message", RoomID: "r",
		CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s", Ordering: state.OrderingBestEffort})
	require.NoError(t, err)
	commit := func(ids ...string) {
		var events []state.Event
		for _, id := range ids {
			events = append(events, state.Event{ID: id, Type: "message.posted", Payload: []byte(`{}`)})
		}
		require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: events}}))
	}
	commit("e1", "e2", "e3")
	due, err := s.PickDue(now, 10, nil)
	require.NoError(t, err)
	require.Len(t, due, 3)
	for _, err := range s.RecordAttempts([]state.AttemptRecord{{SubscriptionID: "s", Seq: due[0].Seq, Outcome: state.Delivered(),
		Attempt: state.Attempt{At: now, StatusCode: 204}}}) {
		require.NoError(t, err)
	}
	require.NoError(t, etcd.CheckHeads(s))

	now = base // a replica whose clock is ten seconds behind
	commit("early")
	require.NoError(t, etcd.CheckHeads(s))
	due, err = s.PickDue(base.Add(time.Minute), 10, nil)
	require.NoError(t, err)
	var ids []string
	for _, d := range due {
		ids = append(ids, d.EventID)
	}
	assert.Equal(t, []string{"early", "e2", "e3"}, ids)
}

// TestDeleteLeavesNoKeys: deleting a subscription with a queue longer than
// one transaction removes every key it had, due index included.
func TestDeleteLeavesNoKeys(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	s, prefix := openWithSubscription(t, client, testKey(7), "long")
	evs := make([]state.Event, 300)
	for i := range evs {
		evs[i] = state.Event{ID: fmt.Sprint(i), Payload: []byte(`{}`)}
	}
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "long", Cursor: []byte("c"), Events: evs}}))
	require.NoError(t, s.DeleteSubscription("long"))
	left, err := client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var keys []string
	for _, kv := range left.Kvs {
		keys = append(keys, string(kv.Key))
	}
	assert.ElementsMatch(t, []string{prefix + "meta/schema_version", prefix + "meta/server_key"}, keys)
}

// TestPruneSweepsOrphanDueEntries: due entries of a deleted subscription (a
// crash in the middle of a long delete) are passed over and pruned.
func TestPruneSweepsOrphanDueEntries(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	prefix := newPrefix()
	s, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(7)})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.CreateSubscription(state.Subscription{ID: "kept", ConnectionID: "c", Kind: "message", RoomID: "r",
		CallbackURL: "https://sink.example/hook", Token: "t", Secret: "whsec_s"})
	require.NoError(t, err)
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "kept", Events: []state.Event{{ID: "e1", Payload: []byte(`{}`)}}}}))
	orphan := prefix + "due/0000000000000001/0000000000000007/gone"
	_, err = client.Put(ctx, orphan, "")
	require.NoError(t, err)

	due, err := s.DueDeliveries(time.Now(), 0, nil)
	require.NoError(t, err)
	require.Len(t, due, 1, "the orphan is passed over")
	_, err = s.Prune(time.Now())
	require.NoError(t, err)
	left, err := client.Get(ctx, prefix+"due/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.EqualValues(t, 1, left.Count, "only the kept subscription's entry is left")
}

// TestPruneAfterCompaction: history already compacted up to where Prune
// starts (by an operator or another replica) is not an error.
func TestPruneAfterCompaction(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	s, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: newPrefix(), Key: testKey(7)})
	require.NoError(t, err)
	defer s.Close()
	now, err := client.Get(ctx, "any")
	require.NoError(t, err)
	_, err = client.Compact(ctx, now.Header.Revision)
	require.NoError(t, err)
	_, err = s.Prune(time.Now())
	assert.NoError(t, err, "compacting to a revision already compacted is not an error")
}

// TestDueDeliveriesRefillsDroppedOut: due entries whose records are gone
// (finished or pruned since the index was read) do not count against limit;
// the next ones fill their place.
func TestDueDeliveriesRefillsDroppedOut(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	s, prefix := openWithSubscription(t, client, testKey(7), "s")
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "s", Events: []state.Event{
		{ID: "e1", Payload: []byte(`{}`)}, {ID: "e2", Payload: []byte(`{}`)}, {ID: "e3", Payload: []byte(`{}`)}}}}))
	for _, seq := range []string{"0000000000000062", "0000000000000063"} { // no such records, due first
		_, err := client.Put(ctx, prefix+"due/0000000000000001/"+seq+"/s", "")
		require.NoError(t, err)
	}

	due, err := s.DueDeliveries(time.Now(), 2, nil)
	require.NoError(t, err)
	require.Len(t, due, 2)
	assert.Equal(t, []uint64{1, 2}, []uint64{due[0].Seq, due[1].Seq})
}
