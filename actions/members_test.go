package actions_test

import (
	"strconv"
	"strings"
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

// Someone who already is a member is told so, however the user is given, and keeps their roles
// (the owner stays a room admin); a public room is still HipChat's 400 of the add.
func TestAddUserToRoomSaysWhoAlreadyIsAMember(t *testing.T) {
	w := newWorld(t)
	private := w.room(t, "Ops", "private")
	conn := w.conn(w.ann)
	said, err := actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: "@bob"})
	require.NoError(t, err)
	assert.Equal(t, "User @bob was added to room "+private, said)

	for _, user := range []string{"@bob", "@Bob", strconv.Itoa(w.bob.ID), w.bob.Email, "@ann"} {
		said, err := actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: user})
		require.NoError(t, err, user)
		assert.Equal(t, "User "+user+" is already a member of room "+private, said)
	}
	var members struct {
		Items []struct {
			MentionName string   `json:"mention_name"`
			RoomRoles   []string `json:"room_roles"`
		} `json:"items"`
	}
	require.NoError(t, w.sim.Do(w.ctx, "GET", "/v2/room/"+private+"/member", w.ann.Token, nil, &members))
	for _, m := range members.Items {
		if m.MentionName == "ann" {
			assert.Contains(t, m.RoomRoles, "room_admin", "the owner keeps her roles")
		}
	}

	public := w.room(t, "Lobby", "public")
	_, err = actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: public, UserID: "@bob"})
	assertHipChatError(t, err, connector.KindBadRequest)
	_, err = actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: "nobody@example.com"})
	assertHipChatError(t, err, connector.KindNotFound)
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

func TestRemoveAndInviteInputsNameTheFieldAtFault(t *testing.T) {
	for name, tc := range map[string]struct {
		in                   actions.Input
		field, code, message string
	}{
		"remove no room":     {actions.RemoveUserFromRoomInput{UserID: "@bob"}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"remove no user":     {actions.RemoveUserFromRoomInput{RoomID: "1"}, "userId", actions.CodeMissingField, "userId" + blankMessage},
		"invite no room":     {actions.InviteUserToRoomInput{UserID: "@bob", Reason: "r"}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"invite no user":     {actions.InviteUserToRoomInput{RoomID: "1", Reason: "r"}, "userId", actions.CodeMissingField, "userId" + blankMessage},
		"invite no reason":   {actions.InviteUserToRoomInput{RoomID: "1", UserID: "@bob", Reason: " "}, "reason", actions.CodeMissingField, "reason" + blankMessage},
		"invite reason long": {actions.InviteUserToRoomInput{RoomID: "1", UserID: "@bob", Reason: strings.Repeat("r", 251)}, "reason", actions.CodeFieldTooLong, "reason is 251 characters long; HipChat takes at most 250"},
	} {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, tc.in.Validate(), tc.field, tc.code, tc.message)
		})
	}
}

func TestRemoveUserFromRoom(t *testing.T) {
	w := newWorld(t)
	private := w.room(t, "Ops", "private")
	conn := w.conn(w.ann)
	_, err := actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: "@bob"})
	require.NoError(t, err)

	done, err := actions.RemoveUserFromRoom(w.ctx, w.hipchat, conn, actions.RemoveUserFromRoomInput{RoomID: private, UserID: "@bob"})
	require.NoError(t, err)
	assert.Equal(t, "User @bob was removed from room "+private, done.Summary)
	list, err := actions.ListUsers(w.ctx, w.hipchat, conn, actions.ListUsersInput{RoomID: private})
	require.NoError(t, err)
	for _, u := range list.Items {
		assert.NotEqual(t, "bob", u.MentionName, "Bob is no member any more")
	}

	public := w.room(t, "Lobby", "public")
	_, err = actions.RemoveUserFromRoom(w.ctx, w.hipchat, conn, actions.RemoveUserFromRoomInput{RoomID: public, UserID: "@bob"})
	assertHipChatError(t, err, connector.KindBadRequest)
	noAdmin := connectorConn(w.limitedToken(t, "view_group view_room"), w.url)
	_, err = actions.RemoveUserFromRoom(w.ctx, w.hipchat, noAdmin, actions.RemoveUserFromRoomInput{RoomID: private, UserID: "@bob"})
	assertScopeMissing(t, err, "admin_room")
}

func TestInviteUserToRoom(t *testing.T) {
	w := newWorld(t)
	public := w.room(t, "Lobby", "public")
	conn := w.conn(w.ann)
	done, err := actions.InviteUserToRoom(w.ctx, w.hipchat, conn, actions.InviteUserToRoomInput{RoomID: public, UserID: "bob@example.com", Reason: "the launch is here"})
	require.NoError(t, err)
	assert.Equal(t, "User bob@example.com was invited to room "+public, done.Summary)
	room, err := actions.GetRoom(w.ctx, w.hipchat, conn, actions.GetRoomInput{RoomID: public})
	require.NoError(t, err)
	assert.Contains(t, room.Participants, actions.User{ID: w.bob.ID, MentionName: "bob", Name: "Bob Example"}, "an invited user is in the room")

	private := w.room(t, "Ops", "private")
	_, err = actions.InviteUserToRoom(w.ctx, w.hipchat, conn, actions.InviteUserToRoomInput{RoomID: private, UserID: "@bob", Reason: "r"})
	assertHipChatError(t, err, connector.KindBadRequest)
	_, err = actions.InviteUserToRoom(w.ctx, w.hipchat, conn, actions.InviteUserToRoomInput{RoomID: public, UserID: "@nobody", Reason: "r"})
	assertHipChatError(t, err, connector.KindNotFound)
}

// A room or user reference of "." or ".." is refused before any HipChat call (400 invalid_field
// naming it): HipChat's URLs take a reference as a path segment, and removing user ".." from a room
// must never turn into DELETE /v2/room/{room}, which deletes the room.
func TestDotReferencesAreRefusedBeforeHipChat(t *testing.T) {
	w := newWorld(t)
	private := w.room(t, "Ops", "private")
	conn := w.conn(w.ann)
	refused := func(err error, field string) {
		t.Helper()
		var invalid *actions.InvalidInput
		require.ErrorAs(t, err, &invalid)
		assert.Equal(t, field, invalid.Field)
		assert.Equal(t, actions.CodeInvalidField, invalid.Code)
	}

	_, err := actions.RemoveUserFromRoom(w.ctx, w.hipchat, conn, actions.RemoveUserFromRoomInput{RoomID: private, UserID: ".."})
	refused(err, actions.FieldUserID)
	room, err := actions.GetRoom(w.ctx, w.hipchat, conn, actions.GetRoomInput{RoomID: private})
	require.NoError(t, err, "the room is still there")
	assert.Equal(t, "Ops", room.Name)

	_, err = actions.AddUserToRoom(w.ctx, w.hipchat, conn, actions.AddUserToRoomInput{RoomID: private, UserID: " .. "})
	refused(err, actions.FieldUserID)
	_, err = actions.GetUserByID(w.ctx, w.hipchat, conn, actions.GetUserByIDInput{UserID: "."})
	refused(err, actions.FieldUserID)
	_, err = actions.GetRoom(w.ctx, w.hipchat, conn, actions.GetRoomInput{RoomID: ".."})
	refused(err, actions.FieldRoomID)
}
