package actions_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

func ptr[T any](v T) *T { return &v }

func TestRoomAdminInputsNameTheFieldAtFault(t *testing.T) {
	for name, tc := range map[string]struct {
		in                   actions.Input
		field, code, message string
	}{
		"get no room":           {actions.GetRoomInput{RoomID: " "}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"create no name":        {actions.CreateRoomInput{}, "name", actions.CodeMissingField, "name" + blankMessage},
		"create name too long":  {actions.CreateRoomInput{Name: strings.Repeat("n", 51)}, "name", actions.CodeFieldTooLong, "name is 51 characters long; HipChat takes at most 50"},
		"create privacy":        {actions.CreateRoomInput{Name: "Ops", Privacy: "secret"}, "privacy", actions.CodeInvalidField, `privacy is "secret"; it must be one of public, private`},
		"create topic too long": {actions.CreateRoomInput{Name: "Ops", Topic: strings.Repeat("t", 251)}, "topic", actions.CodeFieldTooLong, "topic is 251 characters long; HipChat takes at most 250"},
		"topic no room":         {actions.SetRoomTopicInput{Topic: ptr("x")}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"topic missing":         {actions.SetRoomTopicInput{RoomID: "1"}, "topic", actions.CodeMissingField, `topic is required (send "" to clear the topic)`},
		"topic too long":        {actions.SetRoomTopicInput{RoomID: "1", Topic: ptr(strings.Repeat("t", 251))}, "topic", actions.CodeFieldTooLong, "topic is 251 characters long; HipChat takes at most 250"},
		"recent no room":        {actions.GetRecentMessagesInput{}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"recent zero":           {actions.GetRecentMessagesInput{RoomID: "1", MaxResults: ptr(0)}, "maxResults", actions.CodeInvalidField, "maxResults is 0; it must be between 1 and 1000"},
		"recent too many":       {actions.GetRecentMessagesInput{RoomID: "1", MaxResults: ptr(1001)}, "maxResults", actions.CodeInvalidField, "maxResults is 1001; it must be between 1 and 1000"},
		"recent notBefore":      {actions.GetRecentMessagesInput{RoomID: "1", NotBefore: strings.Repeat("x", 37)}, "notBefore", actions.CodeFieldTooLong, "notBefore is 37 characters long; HipChat takes at most 36"},
	} {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, tc.in.Validate(), tc.field, tc.code, tc.message)
		})
	}
	assert.NoError(t, actions.SetRoomTopicInput{RoomID: "1", Topic: ptr("")}.Validate(), `"" clears the topic`)
	assert.NoError(t, actions.CreateRoomInput{Name: strings.Repeat("é", 50), Privacy: "private"}.Validate())
	assert.NoError(t, actions.GetRecentMessagesInput{RoomID: "1", MaxResults: ptr(1000)}.Validate())
}

func TestCreateRoomThenGetAndSetItsTopic(t *testing.T) {
	w := newWorld(t)
	conn := w.conn(w.ann)
	created, err := actions.CreateRoom(w.ctx, w.hipchat, conn, actions.CreateRoomInput{Name: "Launch", Privacy: "private", Topic: "day one", GuestAccess: true})
	require.NoError(t, err)
	assert.Positive(t, created.ID)
	assert.Equal(t, "Launch", created.Name)
	assert.Equal(t, "private", created.Privacy)
	assert.Equal(t, "day one", created.Topic)
	assert.True(t, created.IsGuestAccessible)
	assert.NotEmpty(t, created.GuestAccessURL)
	require.NotNil(t, created.Owner)
	assert.Equal(t, "ann", created.Owner.MentionName, "the token's user owns the room")
	assert.Equal(t, w.url+"/v2/room/"+strconv.Itoa(created.ID), created.Links.Self)
	assert.NotEmpty(t, created.Links.Members, "a private room has a members link")

	id := strconv.Itoa(created.ID)
	done, err := actions.SetRoomTopic(w.ctx, w.hipchat, conn, actions.SetRoomTopicInput{RoomID: id, Topic: ptr("release 1.2 is out")})
	require.NoError(t, err)
	assert.Equal(t, "Topic of room "+id+" set", done.Summary)
	_, err = w.sim.PostMessage(w.ctx, w.ann.Token, id, "hello")
	require.NoError(t, err)

	room, err := actions.GetRoom(w.ctx, w.hipchat, conn, actions.GetRoomInput{RoomID: "Launch"})
	require.NoError(t, err)
	assert.Equal(t, created.ID, room.ID, "found by name")
	assert.Equal(t, "release 1.2 is out", room.Topic)
	assert.False(t, room.IsArchived)
	assert.NotEmpty(t, room.Created)
	assert.Equal(t, 1, room.ParticipantsCount, "Ann posted, so she is in the room")
	assert.Equal(t, []actions.User{{ID: w.ann.ID, MentionName: "ann", Name: "Ann Example"}}, room.Participants)

	cleared, err := actions.SetRoomTopic(w.ctx, w.hipchat, conn, actions.SetRoomTopicInput{RoomID: id, Topic: ptr("")})
	require.NoError(t, err)
	assert.Equal(t, "Topic of room "+id+" cleared", cleared.Summary)
	room, err = actions.GetRoom(w.ctx, w.hipchat, conn, actions.GetRoomInput{RoomID: id})
	require.NoError(t, err)
	assert.Empty(t, room.Topic)
}

func TestRoomAdminPassesHipChatErrorsOn(t *testing.T) {
	w := newWorld(t)
	w.room(t, "Taken", "public")
	_, err := actions.CreateRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.CreateRoomInput{Name: "Taken"})
	assertHipChatError(t, err, connector.KindBadRequest)
	_, err = actions.GetRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.GetRoomInput{RoomID: "Nowhere"})
	assertHipChatError(t, err, connector.KindNotFound)

	viewer := connectorConn(w.limitedToken(t, "view_group view_room send_message"), w.url)
	_, err = actions.CreateRoom(w.ctx, w.hipchat, viewer, actions.CreateRoomInput{Name: "Mine"})
	assertScopeMissing(t, err, "manage_rooms")
	_, err = actions.SetRoomTopic(w.ctx, w.hipchat, viewer, actions.SetRoomTopicInput{RoomID: "Taken", Topic: ptr("x")})
	assertScopeMissing(t, err, "admin_room")
}

// A room HipChat created is not an error when reading it back fails: the flow must not create it again.
func TestCreateRoomAnswersWhatTheCreateSaidWhenTheReadFails(t *testing.T) {
	w := newWorld(t)
	created, err := actions.CreateRoom(w.ctx, readFails{w.hipchat}, w.conn(w.ann), actions.CreateRoomInput{Name: "Blind", Topic: "t"})
	require.NoError(t, err)
	assert.Positive(t, created.ID)
	assert.Equal(t, "Blind", created.Name)
	assert.Equal(t, "public", created.Privacy, "HipChat's default")
	assert.Equal(t, "t", created.Topic)
	assert.Equal(t, w.url+"/v2/room/"+strconv.Itoa(created.ID), created.Links.Self)
	assert.NotNil(t, created.Participants)
}

func TestGetRecentMessages(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Ops", "public")
	var ids []string
	for _, text := range []string{"one", "two", "three", "four"} {
		id, err := w.sim.PostMessage(w.ctx, w.bob.Token, room, text+" @ann")
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, w.sim.DeleteMessage(w.ctx, room, ids[2]))
	conn := w.conn(w.ann)

	all, err := actions.GetRecentMessages(w.ctx, w.hipchat, conn, actions.GetRecentMessagesInput{RoomID: room})
	require.NoError(t, err)
	var texts []string
	for _, item := range all.Items {
		texts = append(texts, item.Message)
		assert.Equal(t, room, strconv.Itoa(item.RoomID), "HipChat's id of the room")
		assert.Equal(t, "Ops", item.RoomName)
		assert.Equal(t, "bob", item.From.MentionName)
		require.Len(t, item.Mentions, 1)
		assert.Equal(t, "ann", item.Mentions[0].MentionName)
	}
	assert.Equal(t, []string{"one @ann", "two @ann", "four @ann"}, texts, "oldest first, the deleted message left out")

	two, err := actions.GetRecentMessages(w.ctx, w.hipchat, conn, actions.GetRecentMessagesInput{RoomID: room, MaxResults: ptr(1)})
	require.NoError(t, err)
	require.Len(t, two.Items, 1)
	assert.Equal(t, ids[3], two.Items[0].ID, "the newest")

	since, err := actions.GetRecentMessages(w.ctx, w.hipchat, conn, actions.GetRecentMessagesInput{RoomID: room, NotBefore: ids[1]})
	require.NoError(t, err)
	require.Len(t, since.Items, 2)
	assert.Equal(t, ids[1], since.Items[0].ID, "not-before is inclusive")

	byName, err := actions.GetRecentMessages(w.ctx, w.hipchat, conn, actions.GetRecentMessagesInput{RoomID: "Ops", MaxResults: ptr(1)})
	require.NoError(t, err)
	require.Len(t, byName.Items, 1)
	assert.Equal(t, two.Items[0], byName.Items[0], "the same item, room_id included, when the room is given by name")

	_, err = actions.GetRecentMessages(w.ctx, w.hipchat, conn, actions.GetRecentMessagesInput{RoomID: "99999"})
	assertHipChatError(t, err, connector.KindNotFound)
}

// readFails is HipChat whose room reads fail, as when HipChat breaks right after a create.
type readFails struct{ actions.HipChat }

func (readFails) GetRoom(_ context.Context, _ connector.Connection, _ string) (connector.RoomDetails, error) {
	return connector.RoomDetails{}, &connector.Error{Kind: connector.KindUnavailable, Status: 503, Message: "down"}
}
