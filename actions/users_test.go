package actions_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

func TestGetUserByIDInputNamesTheUser(t *testing.T) {
	for _, blank := range []string{"", " ", "\n\t"} {
		assertRefused(t, actions.GetUserByIDInput{UserID: blank}.Validate(), "userId", actions.CodeMissingField, "userId"+blankMessage)
	}
	assert.NoError(t, actions.GetUserByIDInput{UserID: "@bob"}.Validate())
}

func TestGetUserByID(t *testing.T) {
	w := newWorld(t)
	conn := w.conn(w.ann)
	for _, ref := range []string{"@bob", w.bob.Email} {
		u, err := actions.GetUserByID(w.ctx, w.hipchat, conn, actions.GetUserByIDInput{UserID: ref})
		require.NoError(t, err, ref)
		assert.Equal(t, w.bob.ID, u.ID, ref)
		assert.Equal(t, "bob", u.MentionName, ref)
		assert.Equal(t, "Bob Example", u.Name, ref)
		assert.False(t, u.IsDeleted, ref)
	}

	_, err := actions.GetUserByID(w.ctx, w.hipchat, conn, actions.GetUserByIDInput{UserID: "@nobody"})
	assertHipChatError(t, err, connector.KindNotFound)

	before := w.calls(t, w.ann.Token)
	_, err = actions.GetUserByID(w.ctx, w.hipchat, conn, actions.GetUserByIDInput{UserID: " "})
	assertRefused(t, err, "userId", actions.CodeMissingField, "userId"+blankMessage)
	assert.Equal(t, before, w.calls(t, w.ann.Token), "refused without a call")
}

func TestListAllUsersIsThePicker(t *testing.T) {
	w := newWorld(t)
	list, err := actions.ListAllUsers(w.ctx, w.hipchat, w.conn(w.ann), actions.NoInput{})
	require.NoError(t, err)
	byMention := map[string]actions.UserChoice{}
	for _, u := range list.Items {
		byMention[u.MentionName] = u
	}
	assert.Equal(t, actions.UserChoice{ID: w.bob.ID, MentionName: "bob", Name: "Bob Example", DisplayName: "Bob Example (@bob)"}, byMention["bob"])
	assert.Equal(t, "Ann Example (@ann)", byMention["ann"].DisplayName)

	noGroup := connectorConn(w.limitedToken(t, "view_room"), w.url)
	_, err = actions.ListAllUsers(w.ctx, w.hipchat, noGroup, actions.NoInput{})
	assertScopeMissing(t, err, "view_group")
}

func TestTestConnectionSaysWhoseTokenAndWhatItLacks(t *testing.T) {
	w := newWorld(t)
	info, err := actions.TestConnection(w.ctx, w.hipchat, w.conn(w.ann), actions.NoInput{})
	require.NoError(t, err)
	require.NotNil(t, info.User)
	assert.Equal(t, actions.User{ID: w.ann.ID, MentionName: "ann", Name: "Ann Example"}, *info.User)
	assert.Subset(t, info.Scopes, actions.ScopesUsed)
	assert.Empty(t, info.MissingScopes, "a token with every scope lacks none")

	limited, err := actions.TestConnection(w.ctx, w.hipchat, connectorConn(w.limitedToken(t, "view_room send_message"), w.url), actions.NoInput{})
	require.NoError(t, err, "a token with any scope passes the test")
	assert.Equal(t, []string{"send_message", "view_room"}, limited.Scopes)
	assert.Equal(t, []string{"admin_room", "manage_rooms", "send_notification", "view_group", "view_messages"}, limited.MissingScopes)

	_, err = actions.TestConnection(w.ctx, w.hipchat, connectorConn("not-a-token", w.url), actions.NoInput{})
	assertHipChatError(t, err, connector.KindTokenRejected)
}
