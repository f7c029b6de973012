package storetest

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

func validSubscription() state.Subscription {
	return state.Subscription{
		ConnectionID: "conn-a", Kind: triggers.KindMessage, RoomID: "r1",
		CallbackURL: "https://sink.example/hook", Token: "tok", Secret: "whsec_x", HipChatURL: "https://api.hipchat.com",
	}
}

func testCreate(t *testing.T, d *env) {
	for name, mutate := range map[string]func(*state.Subscription){
		"no connection":     func(s *state.Subscription) { s.ConnectionID = "" },
		"unknown kind":      func(s *state.Subscription) { s.Kind = "emoji" },
		"room kind + room":  func(s *state.Subscription) { s.Kind = triggers.KindRoom },
		"no room":           func(s *state.Subscription) { s.RoomID = "" },
		"no callback":       func(s *state.Subscription) { s.CallbackURL = "" },
		"no token":          func(s *state.Subscription) { s.Token = "" },
		"no secret":         func(s *state.Subscription) { s.Secret = "" },
		"unknown status":    func(s *state.Subscription) { s.Status = "sleeping" },
		"unknown ordering":  func(s *state.Subscription) { s.Ordering = "random" },
		"negative max rate": func(s *state.Subscription) { s.MaxPerSecond = -1 },
	} {
		sub := validSubscription()
		mutate(&sub)
		_, err := d.CreateSubscription(sub)
		assert.ErrorIs(t, err, state.ErrInvalid, name)
	}

	sub := validSubscription()
	sub.Cursor = []byte("c0")
	sub.MaxPerSecond = 2.5
	created, err := d.CreateSubscription(sub)
	require.NoError(t, err)
	assert.NotEmpty(t, created.ID)
	assert.Equal(t, state.StatusActive, created.Status)
	assert.Equal(t, d.clock.Now(), created.CreatedAt)
	assert.Equal(t, state.OrderingBestEffort, created.Ordering)
	got, err := d.Subscription(created.ID)
	require.NoError(t, err)
	assert.Equal(t, created, got)

	sub.ID = created.ID
	_, err = d.CreateSubscription(sub)
	assert.ErrorIs(t, err, state.ErrExists)
	_, err = d.Subscription("missing")
	assert.ErrorIs(t, err, state.ErrNotFound)
}

func testSubscriptionsOf(t *testing.T, d *env) {
	for _, id := range []string{"b", "a/with/slashes", "c"} {
		d.subscribe(id)
	}
	other := validSubscription()
	other.ID, other.ConnectionID = "z", "conn-a-but-longer"
	_, err := d.CreateSubscription(other)
	require.NoError(t, err)

	subs, err := d.SubscriptionsOf("conn-a")
	require.NoError(t, err)
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.ID)
		assert.Equal(t, "token-of-"+s.ID, s.Token)
	}
	assert.Equal(t, []string{"a/with/slashes", "b", "c"}, ids, "ordered by id, only this connection's")
	none, err := d.SubscriptionsOf("nobody")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testStatuses(t *testing.T, d *env) {
	for _, id := range []string{"active", "paused", "suspended", "disabled"} {
		d.subscribe(id)
	}
	require.NoError(t, d.SetStatus("paused", state.StatusPaused, "by a user"))
	require.NoError(t, d.SetStatus("suspended", state.StatusSuspended, "HipChat answered 401"))
	sub, err := d.UpdateStatus("disabled", state.StatusDisabled, "410")
	require.NoError(t, err)
	assert.Equal(t, state.StatusDisabled, sub.Status)
	assert.Equal(t, "410", sub.StatusReason)

	polled, err := d.PolledSubscriptions()
	require.NoError(t, err)
	var ids []string
	for _, s := range polled {
		ids = append(ids, s.ID)
	}
	assert.Equal(t, []string{"active", "paused"}, ids)

	assert.ErrorIs(t, d.SetStatus("active", "sleeping", ""), state.ErrInvalid)
	assert.ErrorIs(t, d.SetStatus("missing", state.StatusPaused, ""), state.ErrNotFound)
	require.NoError(t, d.SetStatus("suspended", state.StatusActive, ""))
	polled, err = d.PolledSubscriptions()
	require.NoError(t, err)
	assert.Len(t, polled, 3)
}

func testDelete(t *testing.T, d *env) {
	d.subscribe("s1")
	d.subscribeWith("s2", state.OrderingBestEffort)
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("m", 3)},
		state.CursorAdvance{SubscriptionID: "s2", Events: events("m", 2)})
	require.NoError(t, d.DeleteSubscription("s1"))

	_, err := d.Subscription("s1")
	assert.ErrorIs(t, err, state.ErrNotFound)
	subs, err := d.SubscriptionsOf("conn-a")
	require.NoError(t, err)
	require.Len(t, subs, 1)
	assert.Equal(t, "s2", subs[0].ID)
	_, err = d.Deliveries("s1", 0)
	assert.ErrorIs(t, err, state.ErrNotFound)
	assert.Equal(t, []string{"m1", "m2"}, d.due(0), "only s2's deliveries are left")
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, 2, st.Pending)
	assert.ErrorIs(t, d.DeleteSubscription("s1"), state.ErrNotFound, "deleting twice")

	// A subscription created again with the same id starts empty.
	d.subscribe("s1")
	assert.Empty(t, d.log("s1"))
	d.commit(state.CursorAdvance{SubscriptionID: "s1", Events: events("m", 1)})
	assert.Equal(t, []string{"m1"}, d.log("s1"), "m1 is queued again: the ids index went with the subscription")
}

// testDeleteLongQueue deletes a best-effort subscription with more pending
// deliveries (each in the due index) than one etcd transaction can delete.
func testDeleteLongQueue(t *testing.T, d *env) {
	d.subscribeWith("long", state.OrderingBestEffort)
	d.subscribe("other")
	d.commit(state.CursorAdvance{SubscriptionID: "long", Events: events("m", 200)},
		state.CursorAdvance{SubscriptionID: "other", Events: events("o", 1)})
	require.Len(t, d.due(0), 201)
	require.NoError(t, d.DeleteSubscription("long"))
	assert.Equal(t, []string{"o1"}, d.due(0))
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, 1, st.Pending)
}

func testRotateSecret(t *testing.T, d *env) {
	d.subscribe("s")
	expires := d.clock.Now().Add(24 * time.Hour)
	sub, err := d.RotateSecret("s", "whsec_new", expires)
	require.NoError(t, err)
	assert.Equal(t, "whsec_new", sub.Secret)
	assert.Equal(t, "whsec_secret-of-s", sub.PreviousSecret)
	assert.Equal(t, []string{"whsec_new", "whsec_secret-of-s"}, sub.SigningSecrets(d.clock.Now()))
	assert.Equal(t, []string{"whsec_new"}, sub.SigningSecrets(expires))
	got, err := d.Subscription("s")
	require.NoError(t, err)
	assert.Equal(t, sub, got)

	sub, err = d.RotateSecret("s", "whsec_newer", time.Time{})
	require.NoError(t, err)
	assert.Empty(t, sub.PreviousSecret, "a zero expiry drops the previous secret at once")
	assert.Equal(t, []string{"whsec_newer"}, sub.SigningSecrets(d.clock.Now()))

	_, err = d.RotateSecret("s", "", expires)
	assert.ErrorIs(t, err, state.ErrInvalid)
	_, err = d.RotateSecret("missing", "whsec_x", expires)
	assert.ErrorIs(t, err, state.ErrNotFound)
}

func testSecretsNeverInClear(t *testing.T, d *env) {
	raw, ok := d.Store.(Raw)
	if !ok {
		t.Skip("the store does not expose its raw bytes")
	}
	const token = "tok-7f3a9c-CLEAR-TEXT-TOKEN"      // #nosec G101 -- a test value the file must never hold in clear
	const secret = "whsec_CLEAR-TEXT-SIGNING-SECRET" // #nosec G101 -- likewise
	sub := validSubscription()
	sub.Token, sub.Secret = token, secret
	created, err := d.CreateSubscription(sub)
	require.NoError(t, err)
	_, err = d.RotateSecret(created.ID, "whsec_CLEAR-TEXT-ROTATED", d.clock.Now().Add(time.Hour))
	require.NoError(t, err)
	serverKey := d.ServerKey()
	all := raw.Raw(t)
	require.NotEmpty(t, all)
	for name, clear := range map[string][]byte{
		"token": []byte(token), "secret": []byte(secret), "rotated secret": []byte("whsec_CLEAR-TEXT-ROTATED"),
		"server key": serverKey, "server key (hex)": []byte(hex.EncodeToString(serverKey)),
	} {
		assert.False(t, bytes.Contains(all, clear), "the backend holds the %s in clear", name)
	}
	got, err := d.Subscription(created.ID)
	require.NoError(t, err)
	assert.Equal(t, token, got.Token)
	assert.Equal(t, "whsec_CLEAR-TEXT-ROTATED", got.Secret)
	assert.Equal(t, secret, got.PreviousSecret)
}

func testServerKey(t *testing.T, d *env) {
	key := d.ServerKey()
	assert.Len(t, key, 32)
	assert.NotEqual(t, make([]byte, 32), key)
	key[0] ^= 0xff
	assert.NotEqual(t, key, d.ServerKey(), "the caller owns the returned slice")
}
