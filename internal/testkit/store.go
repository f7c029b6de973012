package testkit

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// StoreKey is the sealing key of the stores OpenStore opens.
func StoreKey() []byte {
	key := make([]byte, state.KeyLength)
	for i := range key {
		key[i] = byte(i)
	}
	return key
}

// OpenStore opens a real bbolt file under t.TempDir() on the clock now (nil: time.Now); cleanup
// checks its consistency and closes it.
func OpenStore(t testing.TB, now func() time.Time) *bolt.Store {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{Key: StoreKey(), Now: now, Timeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := store.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		require.NoError(t, store.Close())
	})
	return store
}

// SubscriptionStore is what the helpers below need of a store: the bbolt store and the etcd store
// are both one.
type SubscriptionStore interface {
	CreateSubscription(sub state.Subscription) (state.Subscription, error)
	CommitFeed(advances []state.CursorAdvance) error
}

// AddSubscription stores an active best-effort subscription of conn with a fresh secret.
func AddSubscription(t testing.TB, store SubscriptionStore, conn connector.Connection, kind triggers.Kind, room, callback string, cursor []byte) state.Subscription {
	t.Helper()
	return AddOrderedSubscription(t, store, conn, kind, room, callback, cursor, state.OrderingBestEffort)
}

// AddOrderedSubscription is AddSubscription with the given ordering. Its room is not resolved, as
// in a subscription stored before rooms were: the poller resolves it on its first read.
func AddOrderedSubscription(t testing.TB, store SubscriptionStore, conn connector.Connection, kind triggers.Kind, room, callback string, cursor []byte, ordering state.Ordering) state.Subscription {
	t.Helper()
	return addSubscription(t, store, conn, state.Subscription{
		Kind: kind, RoomID: room, CallbackURL: callback, Cursor: cursor, Ordering: ordering,
	})
}

// AddResolvedSubscription is AddSubscription of a subscription whose room was resolved when it was
// made (triggers.ResolveRoom), as the subscribe handler stores one.
func AddResolvedSubscription(t testing.TB, store SubscriptionStore, conn connector.Connection, kind triggers.Kind, room string, resolved triggers.ResolvedRoom, callback string, cursor []byte) state.Subscription {
	t.Helper()
	return addSubscription(t, store, conn, state.Subscription{
		Kind: kind, RoomID: room, Room: resolved, CallbackURL: callback, Cursor: cursor, Ordering: state.OrderingBestEffort,
	})
}

// addSubscription stores sub as conn's, with conn's token and a fresh secret.
func addSubscription(t testing.TB, store SubscriptionStore, conn connector.Connection, sub state.Subscription) state.Subscription {
	t.Helper()
	secret, err := webhook.NewSecret()
	require.NoError(t, err)
	sub.ConnectionID, sub.Token, sub.Secret, sub.HipChatURL = conn.ID, conn.Token(), secret, conn.BaseURL
	created, err := store.CreateSubscription(sub)
	require.NoError(t, err)
	return created
}

// Queue commits events with the given ids (payload {"id": id}) for sub, as the poller would.
func Queue(t testing.TB, store SubscriptionStore, sub state.Subscription, ids ...string) {
	t.Helper()
	var events []state.Event
	for _, id := range ids {
		payload, _ := json.Marshal(map[string]string{"id": id})
		events = append(events, state.Event{ID: id, Type: "message.posted", Payload: payload})
	}
	require.NoError(t, store.CommitFeed([]state.CursorAdvance{{SubscriptionID: sub.ID, Events: events}}))
}

// DeliveryRecorder is the part of a store DeliverPending uses.
type DeliveryRecorder interface {
	Deliveries(subID string, limit int) ([]state.Delivery, error)
	RecordAttempts(records []state.AttemptRecord) []error
}

// DeliverPending records a delivered attempt (204, at at) for every pending delivery of subID, as
// the deliverer does once their receiver answered, and returns how many it recorded.
func DeliverPending(t testing.TB, store DeliveryRecorder, subID string, at time.Time) int {
	t.Helper()
	log, err := store.Deliveries(subID, 0)
	require.NoError(t, err)
	var records []state.AttemptRecord
	for _, d := range log {
		if d.Status == state.DeliveryPending {
			records = append(records, state.AttemptRecord{SubscriptionID: subID, Seq: d.Seq, Outcome: state.Delivered(),
				Attempt: state.Attempt{At: at, StatusCode: 204}})
		}
	}
	for _, err := range store.RecordAttempts(records) {
		require.NoError(t, err)
	}
	return len(records)
}

// TrustSubscriptions tells the sink the secrets of subs.
func (s *Sink) TrustSubscriptions(subs ...state.Subscription) {
	for _, sub := range subs {
		s.Trust(sub.ID, sub.Secret)
	}
}
