package actions_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

// The actions that say something in a room or to a person, besides PostMessage and SendNotification.

func TestConversationInputsNameTheFieldAtFault(t *testing.T) {
	const uuid = "5f7586a8-b71c-423c-ab11-bb2329d00201"
	for name, tc := range map[string]struct {
		in                   actions.Input
		field, code, message string
	}{
		"reply no room":          {actions.ReplyToMessageInput{ParentMessageID: uuid, Message: "ok"}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"reply no parent":        {actions.ReplyToMessageInput{RoomID: "1", Message: "ok"}, "parentMessageId", actions.CodeMissingField, "parentMessageId" + blankMessage},
		"reply parent too long":  {actions.ReplyToMessageInput{RoomID: "1", ParentMessageID: uuid + "x", Message: "ok"}, "parentMessageId", actions.CodeFieldTooLong, "parentMessageId is 37 characters long; HipChat takes at most 36"},
		"reply no message":       {actions.ReplyToMessageInput{RoomID: "1", ParentMessageID: uuid}, "message", actions.CodeMissingField, "message" + blankMessage},
		"reply too long":         {actions.ReplyToMessageInput{RoomID: "1", ParentMessageID: uuid, Message: strings.Repeat("x", 1001)}, "message", actions.CodeFieldTooLong, "message is 1001 characters long; HipChat takes at most 1000"},
		"private no user":        {actions.SendPrivateMessageInput{Message: "hi"}, "userId", actions.CodeMissingField, "userId" + blankMessage},
		"private no message":     {actions.SendPrivateMessageInput{UserID: "@bob", Message: "\t"}, "message", actions.CodeMissingField, "message" + blankMessage},
		"private too long":       {actions.SendPrivateMessageInput{UserID: "@bob", Message: strings.Repeat("x", 10001)}, "message", actions.CodeFieldTooLong, "message is 10001 characters long; HipChat takes at most 10000"},
		"private unknown format": {actions.SendPrivateMessageInput{UserID: "@bob", Message: "hi", MessageFormat: "md"}, "messageFormat", actions.CodeInvalidField, `messageFormat is "md"; it must be one of html, text`},
		"link no room":           {actions.ShareLinkWithRoomInput{Link: "https://example.com"}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"link missing":           {actions.ShareLinkWithRoomInput{RoomID: "1"}, "link", actions.CodeMissingField, "link" + blankMessage},
		"link not absolute":      {actions.ShareLinkWithRoomInput{RoomID: "1", Link: "example.com/page"}, "link", actions.CodeInvalidField, "link must be an absolute http or https URL, such as https://example.com/page"},
		"link javascript":        {actions.ShareLinkWithRoomInput{RoomID: "1", Link: "javascript:alert(1)"}, "link", actions.CodeInvalidField, "link must be an absolute http or https URL, such as https://example.com/page"},
		"link too long":          {actions.ShareLinkWithRoomInput{RoomID: "1", Link: "https://example.com/" + strings.Repeat("p", 2029)}, "link", actions.CodeFieldTooLong, "link is 2049 characters long; HipChat takes at most 2048"},
		"link message too long":  {actions.ShareLinkWithRoomInput{RoomID: "1", Link: "https://example.com", Message: strings.Repeat("x", 1001)}, "message", actions.CodeFieldTooLong, "message is 1001 characters long; HipChat takes at most 1000"},
	} {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, tc.in.Validate(), tc.field, tc.code, tc.message)
		})
	}
	assert.NoError(t, actions.ReplyToMessageInput{RoomID: "1", ParentMessageID: uuid, Message: "ok"}.Validate())
	assert.NoError(t, actions.SendPrivateMessageInput{UserID: "@bob", Message: strings.Repeat("x", 10000), MessageFormat: "html"}.Validate())
	assert.NoError(t, actions.ShareLinkWithRoomInput{RoomID: "1", Link: "http://example.com/a?b=c"}.Validate(), "the message is optional")
}

func TestReplyToMessage(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Ops", "public")
	parent, err := w.sim.PostMessage(w.ctx, w.bob.Token, room, "@ann is the deploy done?")
	require.NoError(t, err)

	done, err := actions.ReplyToMessage(w.ctx, w.hipchat, w.conn(w.ann), actions.ReplyToMessageInput{RoomID: room, ParentMessageID: parent, Message: "yes, all green"})
	require.NoError(t, err)
	assert.Equal(t, "Reply to message "+parent+" posted in room "+room, done.Summary)
	last := w.last(t, room)
	assert.Equal(t, "yes, all green", *last.Message)
	assert.Contains(t, string(last.From), `"mention_name":"ann"`, "posted as the token's user")

	_, err = actions.ReplyToMessage(w.ctx, w.hipchat, w.conn(w.ann), actions.ReplyToMessageInput{RoomID: room,
		ParentMessageID: "00000000-0000-4000-8000-000000000000", Message: "to nothing"})
	assertHipChatError(t, err, connector.KindBadRequest)
}

func TestSendPrivateMessage(t *testing.T) {
	w := newWorld(t)
	done, err := actions.SendPrivateMessage(w.ctx, w.hipchat, w.conn(w.ann), actions.SendPrivateMessageInput{UserID: "@bob", Message: "you are on call tonight", Notify: true})
	require.NoError(t, err)
	assert.Equal(t, "Private message sent to @bob", done.Summary)
	chat := w.latest(t, "/v2/user/@ann/history/latest", w.bob.Token)
	require.NotEmpty(t, chat, "Bob sees Ann's message in their private chat")
	assert.Equal(t, "you are on call tonight", *chat[len(chat)-1].Message)

	_, err = actions.SendPrivateMessage(w.ctx, w.hipchat, w.conn(w.ann), actions.SendPrivateMessageInput{UserID: "@nobody", Message: "hi"})
	assertHipChatError(t, err, connector.KindNotFound)
}

func TestShareLinkWithRoom(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Ops", "public")
	done, err := actions.ShareLinkWithRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.ShareLinkWithRoomInput{RoomID: room,
		Link: "https://status.example.com/incidents/7", Message: "the incident page"})
	require.NoError(t, err)
	assert.Equal(t, "Link shared in room "+room, done.Summary)
	last := w.last(t, room)
	assert.Contains(t, *last.Message, "https://status.example.com/incidents/7")
	assert.Contains(t, *last.Message, "the incident page")

	before := w.calls(t, w.ann.Token)
	_, err = actions.ShareLinkWithRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.ShareLinkWithRoomInput{RoomID: room, Link: "ftp://example.com/x"})
	assertRefused(t, err, "link", actions.CodeInvalidField, "link must be an absolute http or https URL, such as https://example.com/page")
	assert.Equal(t, before, w.calls(t, w.ann.Token), "refused without a call")
}
