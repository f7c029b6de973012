package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// MaxMessageLength is the longest message, in characters, that PostMessage sends. HipChat documents no
// limit for messages posted as a user; spec/hipchat-v2.md infers 1–1000 by analogy with share
// messages (notifications take 10,000). Longer messages are refused here, without a call.
const MaxMessageLength = 1000

// PostMessageInput is PostMessage's input.
type PostMessageInput struct {
	RoomID  string // the room's id or name
	Message string // the text, posted as given (not trimmed)
}

// Validate refuses a blank RoomID, then a blank Message (missing_field), then a Message of more than
// MaxMessageLength characters (field_too_long).
func (in PostMessageInput) Validate() error {
	return firstRefusal(
		reference(FieldRoomID, in.RoomID),
		required(FieldMessage, in.Message),
		atMostChars(FieldMessage, in.Message, MaxMessageLength),
	)
}

// NewMessage is PostMessage's output: the posted message's id and HipChat's timestamp (ISO-8601).
type NewMessage struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
}

// PostMessage posts the message to the room as the token's user (operation PostMessage). It is never
// retried: a post whose answer was lost may have been made. Errors: an *InvalidInput from Validate,
// before any call; else the *connector.Error of the HipChat call (a 404 is the room's).
func PostMessage(ctx context.Context, hipchat HipChat, conn connector.Connection, in PostMessageInput) (NewMessage, error) {
	if err := in.Validate(); err != nil {
		return NewMessage{}, err
	}
	posted, err := hipchat.PostMessage(ctx, conn, in.RoomID, in.Message)
	if err != nil {
		return NewMessage{}, err
	}
	return NewMessage{ID: posted.ID, Timestamp: posted.Timestamp}, nil
}

// FieldParentMessageID names the message ReplyToMessage answers.
const FieldParentMessageID = "parentMessageId"

// ReplyToMessageInput is ReplyToMessage's input.
type ReplyToMessageInput struct {
	RoomID          string
	ParentMessageID string // the id of the message replied to, a message of the same room
	Message         string // 1–1,000 characters, posted as given
}

// Validate refuses a blank RoomID, ParentMessageID or Message (missing_field), then a
// ParentMessageID over 36 or a Message over MaxMessageLength characters (field_too_long).
func (in ReplyToMessageInput) Validate() error {
	return firstRefusal(
		reference(FieldRoomID, in.RoomID),
		required(FieldParentMessageID, in.ParentMessageID),
		atMostChars(FieldParentMessageID, in.ParentMessageID, MaxMessageIDLength),
		required(FieldMessage, in.Message),
		atMostChars(FieldMessage, in.Message, MaxMessageLength),
	)
}

// ReplyToMessage posts the message as a reply under the parent message, as the token's user
// (operation ReplyToMessage). Never retried. Errors: an *InvalidInput from Validate, before any call;
// else the *connector.Error of the HipChat call (a 404 is the room's; an unknown parent is HipChat's
// 400, its message kept).
func ReplyToMessage(ctx context.Context, hipchat HipChat, conn connector.Connection, in ReplyToMessageInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	if err := hipchat.ReplyToMessage(ctx, conn, in.RoomID, in.ParentMessageID, in.Message); err != nil {
		return Done{}, err
	}
	return Done{Summary: "Reply to message " + in.ParentMessageID + " posted in room " + in.RoomID}, nil
}
