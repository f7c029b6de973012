package actions_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

func TestPostMessageInputNamesTheFieldAtFault(t *testing.T) {
	for name, tc := range map[string]struct {
		in                   actions.PostMessageInput
		field, code, message string
	}{
		"no room":        {actions.PostMessageInput{Message: "hi"}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"room is first":  {actions.PostMessageInput{Message: strings.Repeat("x", 1001)}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"no message":     {actions.PostMessageInput{RoomID: "1"}, "message", actions.CodeMissingField, "message" + blankMessage},
		"blank message":  {actions.PostMessageInput{RoomID: "1", Message: " \n\t"}, "message", actions.CodeMissingField, "message" + blankMessage},
		"too long":       {actions.PostMessageInput{RoomID: "1", Message: strings.Repeat("x", 1001)}, "message", actions.CodeFieldTooLong, "message is 1001 characters long; HipChat takes at most 1000"},
		"too many runes": {actions.PostMessageInput{RoomID: "1", Message: strings.Repeat("é", 1002)}, "message", actions.CodeFieldTooLong, "message is 1002 characters long; HipChat takes at most 1000"},
	} {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, tc.in.Validate(), tc.field, tc.code, tc.message)
		})
	}
	assert.NoError(t, actions.PostMessageInput{RoomID: "1", Message: strings.Repeat("é", actions.MaxMessageLength)}.Validate(),
		"the limit counts characters, not bytes")
}

func TestPostMessage(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Lobby", "public")
	conn := w.conn(w.ann)

	posted, err := actions.PostMessage(w.ctx, w.hipchat, conn, actions.PostMessageInput{RoomID: room, Message: "  hello  "})
	require.NoError(t, err)
	assert.NotEmpty(t, posted.ID)
	assert.NotEmpty(t, posted.Timestamp)
	var history struct {
		Items []struct{ ID, Message string }
	}
	require.NoError(t, w.sim.Do(w.ctx, "GET", "/v2/room/"+room+"/history/latest", w.ann.Token, nil, &history))
	require.NotEmpty(t, history.Items)
	last := history.Items[len(history.Items)-1]
	assert.Equal(t, posted.ID, last.ID)
	assert.Equal(t, "  hello  ", last.Message, "posted as given")

	_, err = actions.PostMessage(w.ctx, w.hipchat, conn, actions.PostMessageInput{RoomID: "No Such Room", Message: "hi"})
	assertHipChatError(t, err, connector.KindNotFound)

	before := w.calls(t, w.ann.Token)
	_, err = actions.PostMessage(w.ctx, w.hipchat, conn, actions.PostMessageInput{RoomID: room, Message: strings.Repeat("x", 1001)})
	assertRefused(t, err, "message", actions.CodeFieldTooLong, "message is 1001 characters long; HipChat takes at most 1000")
	assert.Equal(t, before, w.calls(t, w.ann.Token), "refused without a call")
}
