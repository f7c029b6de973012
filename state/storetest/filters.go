package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// resolvedFilter is a filter as the subscribe handler stores it: its users looked up.
func resolvedFilter() triggers.FilterSpec {
	return triggers.FilterSpec{
		Mentions: &triggers.UserRef{Given: "me", ID: 2, MentionName: "ann"}, SkipAtAll: true,
		Keywords: []string{"outage", "incident"}, Pattern: `INC-\d+`, FromLabel: "CI", Include: triggers.IncludeNotifications,
	}
}

// testFilters: a subscription's filter is stored as given, read back by every read, kept by every
// change a subscription goes through, and refused when it could not be matched with.
func testFilters(t *testing.T, d *env) {
	sub := validSubscription()
	sub.Filter = resolvedFilter()
	created, err := d.CreateSubscription(sub)
	require.NoError(t, err)
	assert.Equal(t, resolvedFilter(), created.Filter)
	got, err := d.Subscription(created.ID)
	require.NoError(t, err)
	assert.Equal(t, resolvedFilter(), got.Filter)

	plain, err := d.CreateSubscription(validSubscription())
	require.NoError(t, err)
	assert.True(t, plain.Filter.IsZero())

	require.NoError(t, d.SetStatus(created.ID, state.StatusPaused, "by a user"))
	updated, err := d.UpdateStatus(created.ID, state.StatusActive, "")
	require.NoError(t, err)
	assert.Equal(t, resolvedFilter(), updated.Filter, "a status change keeps the filter")
	rotated, err := d.RotateSecret(created.ID, "whsec_rotated", d.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, resolvedFilter(), rotated.Filter, "a new secret keeps the filter")
	d.commit(state.CursorAdvance{SubscriptionID: created.ID, Cursor: []byte("c1"), Events: events("m", 1)})

	polled, err := d.PolledSubscriptions()
	require.NoError(t, err)
	filters := map[string]triggers.FilterSpec{}
	for _, s := range polled {
		filters[s.ID] = s.Filter
	}
	assert.Equal(t, resolvedFilter(), filters[created.ID], "the poller reads the filter")
	assert.True(t, filters[plain.ID].IsZero())
	of, err := d.SubscriptionsOf("conn-a")
	require.NoError(t, err)
	for _, s := range of {
		if s.ID == created.ID {
			assert.Equal(t, resolvedFilter(), s.Filter)
		}
	}

	for name, mutate := range map[string]func(*state.Subscription){
		"a room subscription": func(s *state.Subscription) { s.Kind, s.RoomID = triggers.KindRoom, "" },
		"users not looked up": func(s *state.Subscription) { s.Filter.Mentions = &triggers.UserRef{Given: "@bob"} },
		"a broken pattern":    func(s *state.Subscription) { s.Filter.Pattern = "(" },
	} {
		bad := validSubscription()
		bad.Filter = resolvedFilter()
		mutate(&bad)
		_, err := d.CreateSubscription(bad)
		assert.ErrorIs(t, err, state.ErrInvalid, name)
	}
}
