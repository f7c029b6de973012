package actions_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

func TestMembershipInputsNameTheFieldAtFault(t *testing.T) {
	for name, tc := range map[string]struct {
		in    actions.Input
		field string
	}{
		"ListUsers no room":           {actions.ListUsersInput{}, "roomId"},
		"ListUsers blank room":        {actions.ListUsersInput{RoomID: " \t"}, "roomId"},
		"AddUserToRoom no room":       {actions.AddUserToRoomInput{UserID: "@bob"}, "roomId"},
		"AddUserToRoom blank user":    {actions.AddUserToRoomInput{RoomID: "1", UserID: " "}, "userId"},
		"AddUserToRoom room is first": {actions.AddUserToRoomInput{}, "roomId"},
	} {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, tc.in.Validate(), tc.field, actions.CodeMissingField, tc.field+blankMessage)
		})
	}
	assert.NoError(t, actions.ListUsersInput{RoomID: "Ops"}.Validate())
	assert.NoError(t, actions.AddUserToRoomInput{RoomID: "Ops", UserID: "@bob"}.Validate())
}

func TestAddUserToRoomThenListUsers(t *testing.T) {
	w := newWorld(t)
	private := w.room(t, "Ops", "private")
	conn := w.conn(w.ann)

	said, err := actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: "@bob"})
	require.NoError(t, err)
	assert.Equal(t, "User @bob was added to room "+private, said)
	_, err = actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: "@bob"})
	assert.NoError(t, err, "a member already is no error")

	list, err := actions.ListUsers(w.ctx, w.hipchat, conn, actions.ListUsersInput{RoomID: private})
	require.NoError(t, err)
	mentions := map[string]string{}
	for _, u := range list.Items {
		assert.Positive(t, u.ID)
		mentions[u.MentionName] = u.Name
	}
	assert.Equal(t, "Bob Example", mentions["bob"])
	assert.Equal(t, "Ann Example", mentions["ann"])
}

func TestMembershipPassesHipChatErrorsOn(t *testing.T) {
	w := newWorld(t)
	public := w.room(t, "Lobby", "public")
	private := w.room(t, "Ops", "private")
	conn := w.conn(w.ann)

	_, err := actions.ListUsers(w.ctx, w.hipchat, conn, actions.ListUsersInput{RoomID: public})
	assertHipChatError(t, err, connector.KindBadRequest)
	_, err = actions.ListUsers(w.ctx, w.hipchat, conn, actions.ListUsersInput{RoomID: "99999"})
	assertHipChatError(t, err, connector.KindNotFound)
	_, err = actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: "@nobody"})
	assertHipChatError(t, err, connector.KindNotFound)
}

func TestMembershipRefusesBeforeCallingHipChat(t *testing.T) {
	w := newWorld(t)
	before := w.calls(t, w.ann.Token)
	_, err := actions.ListUsers(w.ctx, w.hipchat, w.conn(w.ann), actions.ListUsersInput{RoomID: " "})
	assertRefused(t, err, "roomId", actions.CodeMissingField, "roomId"+blankMessage)
	_, err = actions.AddUserToRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.AddUserToRoomInput{RoomID: "1"})
	assertRefused(t, err, "userId", actions.CodeMissingField, "userId"+blankMessage)
	assert.Equal(t, before, w.calls(t, w.ann.Token))
}
