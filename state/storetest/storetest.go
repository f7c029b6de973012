// Package storetest is the one contract test suite of the store backends:
// what the poller, the deliverer and the subscriptions API rely on, run
// against the bbolt store (package state/bolt) and the etcd store (package
// state/etcd) alike. Only tests import it.
package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Store is the union of poller.Store, delivery.Store and
// server.SubscriptionStore, with ServerKey and Close.
type Store interface {
	CreateSubscription(sub state.Subscription) (state.Subscription, error)
	Subscription(id string) (state.Subscription, error)
	SubscriptionsOf(connectionID string) ([]state.Subscription, error)
	PolledSubscriptions() ([]state.Subscription, error)
	SetStatus(id string, status state.Status, reason string) error
	UpdateStatus(id string, status state.Status, reason string) (state.Subscription, error)
	DeleteSubscription(id string) error
	RotateSecret(subID, secret string, previousExpiresAt time.Time) (state.Subscription, error)

	CommitFeed(advances []state.CursorAdvance) error
	DueDeliveries(now time.Time, limit int, skip func(subID string, seq uint64) bool) ([]state.Delivery, error)
	RecordAttempts(records []state.AttemptRecord) []error
	Deliveries(subID string, limit int) ([]state.Delivery, error)
	Delivery(subID, deliveryID string) (state.Delivery, error)
	Resend(subID, deliveryID string) (state.Delivery, error)
	Recover(subID string, since time.Time) (int, error)
	Prune(now time.Time) (int, error)
	Stats() (state.PendingStats, error)
	PendingCount(subID string) (int, error)

	Endpoint(key string) (state.Endpoint, bool, error)
	DisableEndpoint(key, reason string) (int, error)

	KnownConnections() ([]string, error)
	RememberConnections(ids []string) error

	ServerKey() []byte
	Close() error
}

// Raw is implemented by a store (or a test's wrapper of one) that can hand
// the suite every byte it keeps, to check that no secret is there in clear.
type Raw interface {
	Raw(t *testing.T) []byte
}

// Retention is what the suite expects open to configure:
// state.Retention{MaxAge: 24h, MaxPerSubscription: 3}.
var Retention = state.Retention{MaxAge: 24 * time.Hour, MaxPerSubscription: 3}

// Opener opens a fresh, empty store using now as its clock and Retention;
// it closes the store when the test ends.
type Opener func(t *testing.T, now func() time.Time) Store

// Run runs the whole suite, each case on a store of its own.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		test func(t *testing.T, d *env)
	}{
		{"CreateValidatesAndFillsDefaults", testCreate},
		{"SubscriptionsOfIsScopedToTheConnection", testSubscriptionsOf},
		{"StatusesFilterPolledSubscriptions", testStatuses},
		{"DeleteCascades", testDelete},
		{"DeleteLongQueue", testDeleteLongQueue},
		{"RotateSecret", testRotateSecret},
		{"FiltersStoredAndKept", testFilters},
		{"ResolvedRoomsStoredOnce", testResolvedRooms},
		{"SecretsNeverInClear", testSecretsNeverInClear},
		{"ServerKey", testServerKey},
		{"CommitFeedQueuesInOrderWithStableIDs", testCommitFeedOrder},
		{"CommitFeedDedupes", testCommitFeedDedupe},
		{"CommitFeedSkipsWhatCannotTakeEvents", testCommitFeedSkips},
		{"CommitFeedInvalidWritesNothing", testCommitFeedInvalid},
		{"CommitFeedLargerThanOneTransaction", testCommitFeedLarge},
		{"DueFIFOHeadOnly", testDueFIFO},
		{"DueBestEffortOwnSchedule", testDueBestEffort},
		{"DueSkipsInactiveAndHonoursLimit", testDueInactiveAndLimit},
		{"DueAsksSkipOnlyOfActiveSubscriptions", testDueSkipSeesOnlyActive},
		{"RecordAttemptOutcomes", testRecordOutcomes},
		{"RecordAttemptErrors", testRecordErrors},
		{"RecordAttemptsGroup", testRecordGroup},
		{"LargePayloads", testLargePayloads},
		{"EndpointWithTheAttempt", testEndpoint},
		{"ResendQueuesAtTheEnd", testResend},
		{"Recover", testRecover},
		{"Stats", testStats},
		{"PendingCount", testPendingCount},
		{"PruneRetention", testPrune},
		{"KnownConnections", testKnownConnections},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := manualclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			c.test(t, &env{t: t, Store: open(t, clock.Now), clock: clock})
		})
	}
}

// env is one case's store and clock.
type env struct {
	t     *testing.T
	clock *manualclock.Clock
	Store
}

// subscribe creates an active FIFO message subscription of "conn-a".
func (d *env) subscribe(id string) state.Subscription {
	d.t.Helper()
	return d.subscribeWith(id, state.OrderingFIFO)
}

func (d *env) subscribeWith(id string, ordering state.Ordering) state.Subscription {
	d.t.Helper()
	sub, err := d.CreateSubscription(state.Subscription{
		ID: id, ConnectionID: "conn-a", Kind: triggers.KindMessage, RoomID: "r1",
		CallbackURL: "https://sink.example/hook", Token: "token-of-" + id,
		Secret: "whsec_secret-of-" + id, HipChatURL: "https://api.hipchat.com", Ordering: ordering,
	})
	require.NoError(d.t, err)
	return sub
}

func (d *env) commit(advances ...state.CursorAdvance) {
	d.t.Helper()
	require.NoError(d.t, d.CommitFeed(advances))
}

func (d *env) record(subID string, seq uint64, a state.Attempt, o state.Outcome) error {
	return d.RecordAttempts([]state.AttemptRecord{{SubscriptionID: subID, Seq: seq, Attempt: a, Outcome: o}})[0]
}

func (d *env) due(limit int) []string {
	d.t.Helper()
	due, err := d.DueDeliveries(d.clock.Now(), limit, nil)
	require.NoError(d.t, err)
	return eventIDs(due)
}

func (d *env) seqOf(subID, eventID string) uint64 {
	d.t.Helper()
	dl, err := d.Delivery(subID, state.DeliveryID(subID, eventID))
	require.NoError(d.t, err)
	return dl.Seq
}

func (d *env) cursorOf(id string) string {
	d.t.Helper()
	sub, err := d.Subscription(id)
	require.NoError(d.t, err)
	return string(sub.Cursor)
}

func (d *env) log(subID string) []string {
	d.t.Helper()
	log, err := d.Deliveries(subID, 0)
	require.NoError(d.t, err)
	return eventIDs(log)
}

// events returns events with ids prefix1..prefixN.
func events(prefix string, n int) []state.Event {
	evs := make([]state.Event, n)
	for i := range evs {
		id := fmt.Sprintf("%s%d", prefix, i+1)
		evs[i] = state.Event{ID: id, Type: "message.created", Payload: []byte(`{"id":"` + id + `"}`)}
	}
	return evs
}

func eventIDs(ds []state.Delivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.EventID)
	}
	return ids
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
