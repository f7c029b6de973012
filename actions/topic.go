package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// SetRoomTopicInput is SetRoomTopic's input.
type SetRoomTopicInput struct {
	RoomID string
	// Topic is the new topic, up to 250 characters; "" clears it. Nil means the caller sent none.
	Topic *string
}

// Validate refuses a blank RoomID or a missing Topic (missing_field), then a Topic over
// MaxTopicLength characters (field_too_long). An empty topic is allowed: it clears the topic.
func (in SetRoomTopicInput) Validate() error {
	if in.Topic == nil {
		return firstRefusal(reference(FieldRoomID, in.RoomID), &InvalidInput{Field: FieldTopic, Code: CodeMissingField,
			Message: FieldTopic + ` is required (send "" to clear the topic)`})
	}
	return firstRefusal(reference(FieldRoomID, in.RoomID), atMostChars(FieldTopic, *in.Topic, MaxTopicLength))
}

// SetRoomTopic sets the room's topic (operation SetRoomTopic). Errors: an *InvalidInput from
// Validate, before any call; else the *connector.Error of the HipChat call (a 404 is the room's; a
// 403 means the token lacks admin_room).
func SetRoomTopic(ctx context.Context, hipchat HipChat, conn connector.Connection, in SetRoomTopicInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	if err := hipchat.SetTopic(ctx, conn, in.RoomID, *in.Topic); err != nil {
		return Done{}, err
	}
	if *in.Topic == "" {
		return Done{Summary: "Topic of room " + in.RoomID + " cleared"}, nil
	}
	return Done{Summary: "Topic of room " + in.RoomID + " set"}, nil
}
