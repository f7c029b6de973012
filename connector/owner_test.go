package connector_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
)

func TestTokenOwnerIsAskedOncePerConnection(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{Fixtures: &hipchatsim.Fixtures{
		Rooms: []hipchatsim.FixtureRoom{{Name: "Ops", NotificationTokens: []hipchatsim.FixtureToken{{Token: "ops-room-token", Label: "Ops bot"}}}},
	}})
	client := newClient(connector.ClientOptions{})
	ctx := context.Background()
	conn := connector.NewConnection(up.ann.Token, up.url)

	owner, ok, err := client.TokenOwner(ctx, conn)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, up.ann.ID, owner.ID)
	assert.Equal(t, "ann", owner.MentionName)
	calls := up.calls(t, up.ann.Token)
	again, ok, err := client.TokenOwner(ctx, conn)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, owner, again)
	assert.Equal(t, calls, up.calls(t, up.ann.Token), "the owner is kept: no second call")

	_, ok, err = client.TokenOwner(ctx, connector.NewConnection("ops-room-token", up.url))
	require.NoError(t, err)
	assert.False(t, ok, "a room's token belongs to no user")

	_, _, err = client.TokenOwner(ctx, connector.NewConnection("not-a-token", up.url))
	assert.Equal(t, connector.KindTokenRejected, connector.KindOf(err))
}
