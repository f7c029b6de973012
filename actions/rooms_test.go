package actions_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

func TestListRoomsIsEveryOpenRoomTheTokenSees(t *testing.T) {
	w := newWorld(t)
	w.room(t, "Lobby", "public")
	w.room(t, "Ops", "private")
	old := w.room(t, "Old", "public")
	require.NoError(t, w.sim.ArchiveRoom(w.ctx, w.ann.Token, old))

	list, err := actions.ListRooms(w.ctx, w.hipchat, w.conn(w.ann), actions.NoInput{})
	require.NoError(t, err)
	privacy := map[string]string{}
	for _, r := range list.Items {
		assert.Positive(t, r.ID)
		assert.False(t, r.IsArchived, r.Name)
		privacy[r.Name] = r.Privacy
	}
	assert.Equal(t, map[string]string{"Lobby": "public", "Ops": "private"}, privacy, "archived rooms are left out")

	_, err = actions.ListRooms(w.ctx, w.hipchat, connector.NewConnection("not-a-token", w.url), actions.NoInput{})
	assertHipChatError(t, err, connector.KindTokenRejected)
}

func TestNoInputIsAlwaysValid(t *testing.T) {
	assert.NoError(t, actions.NoInput{}.Validate())
}
