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
