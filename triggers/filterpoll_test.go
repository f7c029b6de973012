package triggers_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

func parse(t *testing.T, kind triggers.Kind, p triggers.FilterParams) triggers.FilterSpec {
	t.Helper()
	spec, err := triggers.ParseFilter(kind, p)
	require.NoError(t, err)
	return spec
}

func TestResolveFilterLooksUpUsersOnce(t *testing.T) {
	w := newWorld(t)
	bob, err := w.sim.NewPerson(w.ctx, w.admin, "Bob Example", "bob")
	require.NoError(t, err)
	spec := parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "me", From: "@bob"})

	before := w.hipchatCalls()
	resolved, err := triggers.ResolveFilter(w.ctx, w.client, w.conn, spec)
	require.NoError(t, err)
	assert.Equal(t, &triggers.UserRef{Given: "me", ID: w.alice.ID, MentionName: "alice"}, resolved.Mentions)
	assert.Equal(t, bob.ID, resolved.From.ID)
	assert.True(t, resolved.Resolved())
	assert.Equal(t, before+2, w.hipchatCalls(), "one call for me, one for @bob")

	_, err = triggers.ResolveFilter(w.ctx, w.client, w.conn, parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "me"}))
	require.NoError(t, err)
	assert.Equal(t, before+2, w.hipchatCalls(), "me is looked up once per connection")

	_, err = triggers.ResolveFilter(w.ctx, w.client, w.conn, parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "@nobody"}))
	var invalid *triggers.InvalidFilter
	require.True(t, errors.As(err, &invalid), "got %v", err)
	assert.Equal(t, "mentions", invalid.Field)
	assert.Contains(t, invalid.Message, "@nobody")
}

// A token that belongs to no user (an add-on's, a room's) has no "me": 400 saying so, naming the field.
func TestMeNeedsATokenOfAUser(t *testing.T) {
	emu, err := hipchatsim.New(hipchatsim.Options{Fixtures: &hipchatsim.Fixtures{
		Users:  []hipchatsim.FixtureUser{{Name: "Ann Lee", Email: "ann@example.com", Tokens: []hipchatsim.FixtureToken{{Token: "ann-token"}}}},
		Addons: []hipchatsim.FixtureAddon{{ClientID: "filter-addon", ClientSecret: "filter-addon-secret", Name: "Filter Add-on"}},
		Rooms: []hipchatsim.FixtureRoom{{Name: "Ops", NotificationTokens: []hipchatsim.FixtureToken{
			{Token: "ops-room-token", Scopes: []string{"send_notification", "view_messages"}, Label: "Ops bot"}}}},
	}})
	require.NoError(t, err)
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	ctx := context.Background()
	addon, err := simclient.New(ts.URL).AddonToken(ctx, "filter-addon", "filter-addon-secret", "")
	require.NoError(t, err)
	client := connector.NewClient(connector.ClientOptions{})
	me := parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "me"})

	resolved, err := triggers.ResolveFilter(ctx, client, connector.NewConnection("ann-token", ts.URL), me)
	require.NoError(t, err)
	assert.Equal(t, 2, resolved.Mentions.ID)

	for name, token := range map[string]string{"add-on": addon, "room": "ops-room-token"} {
		t.Run(name, func(t *testing.T) {
			_, err := triggers.ResolveFilter(ctx, client, connector.NewConnection(token, ts.URL), me)
			var invalid *triggers.InvalidFilter
			require.True(t, errors.As(err, &invalid), "got %v", err)
			assert.Equal(t, "mentions", invalid.Field)
			assert.Contains(t, invalid.Message, "me")
			assert.NotContains(t, invalid.Message, token)
		})
	}
}

// The polling protocol with a filter: only what matches is returned, the rest is passed (counted as
// filtered), and the state carries the filter.
func TestPollingReturnsOnlyWhatTheFilterKeeps(t *testing.T) {
	w := newWorld(t)
	bob, err := w.sim.NewPerson(w.ctx, w.admin, "Bob Example", "bob")
	require.NoError(t, err)
	room := w.room("Ops")
	filter := parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "me", Keywords: "outage"})
	first, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, filter, "")
	require.NoError(t, err)
	require.False(t, first.HasItems())

	var want []string
	for i, text := range []string{"@alice outage in eu", "@alice lunch?", "outage, nobody cares", "@all OUTAGE", "@alice outages"} {
		w.clock.Advance(time.Second)
		id, err := w.sim.PostMessage(w.ctx, bob.Token, room, text)
		require.NoError(t, err)
		if i == 0 || i == 3 {
			want = append(want, id)
		}
	}
	poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, filter, first.State)
	require.NoError(t, err)
	require.True(t, poll.HasItems())
	var got []string
	for _, it := range poll.Items.(triggers.HistoryResponse).Items {
		got = append(got, it.ID)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 3, poll.Filtered)

	// Nothing new, or only what the filter leaves out: 202, and the cursor still moves past it.
	w.clock.Advance(time.Second)
	_, err = w.sim.PostMessage(w.ctx, bob.Token, room, "@alice all good")
	require.NoError(t, err)
	quiet, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, filter, poll.State)
	require.NoError(t, err)
	assert.False(t, quiet.HasItems())
	assert.Equal(t, 1, quiet.Filtered)
	assert.NotEqual(t, poll.State, quiet.State, "a filtered-out message is passed")

	// The state belongs to its filter: another filter (or none) with it is refused.
	for name, other := range map[string]triggers.FilterSpec{
		"none":             {},
		"another keyword":  parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "me", Keywords: "incident"}),
		"another mentions": parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "@bob", Keywords: "outage"}),
	} {
		_, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, other, quiet.State)
		assert.ErrorIs(t, err, triggers.ErrStateFilter, name)
	}
	unfiltered := baseline(t, w, triggers.KindMessage, room)
	_, err = w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, filter, unfiltered)
	assert.ErrorIs(t, err, triggers.ErrStateFilter, "an unfiltered state cannot gain a filter")
}

func TestFirstPollRefusesAnUnknownUserAndMakesNoState(t *testing.T) {
	w := newWorld(t)
	room := w.room("Ops")
	filter := parse(t, triggers.KindMessage, triggers.FilterParams{Mentions: "@ghost"})
	poll, err := w.polling.Messages(w.ctx, w.conn, triggers.KindMessage, room, filter, "")
	var invalid *triggers.InvalidFilter
	require.True(t, errors.As(err, &invalid), "got %v", err)
	assert.Equal(t, "mentions", invalid.Field)
	assert.Empty(t, poll.State)
}

// A state signed with a filter whose users were never looked up is not one this connector issues.
func TestAStateWithAnUnresolvedFilterIsRefused(t *testing.T) {
	codec, err := triggers.NewStateCodec(bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	filter := triggers.FilterSpec{Mentions: &triggers.UserRef{Given: "@bob"}}
	state := codec.EncodeMessages("conn_a", triggers.KindMessage, "1", triggers.MessageState{Filter: filter})
	_, err = codec.DecodeMessages(state, "conn_a", triggers.KindMessage, "1", filter)
	assert.ErrorIs(t, err, triggers.ErrStateFilter)
	filter.Mentions.ID = 7
	state = codec.EncodeMessages("conn_a", triggers.KindMessage, "1", triggers.MessageState{Filter: filter})
	decoded, err := codec.DecodeMessages(state, "conn_a", triggers.KindMessage, "1", triggers.FilterSpec{Mentions: &triggers.UserRef{Given: "@bob"}})
	require.NoError(t, err)
	assert.Equal(t, 7, decoded.Filter.Mentions.ID, "the state keeps who the user is")
}
