package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// MaxPrivateMessageLength is the longest private message, in characters. The spec is silent on it;
// HipChat's send-message-to-user took as much as a notification (1–10,000), and the emulator does.
const MaxPrivateMessageLength = 10000

// SendPrivateMessageInput is SendPrivateMessage's input.
type SendPrivateMessageInput struct {
	UserID        string // the user's id, email or @mention name
	Message       string // 1–10,000 characters
	MessageFormat string // text (HipChat's default for private messages) or html
	Notify        bool   // whether the user gets a notification (sound, badge)
}

// Validate refuses a blank UserID or Message (missing_field), a Message over MaxPrivateMessageLength
// (field_too_long), then a MessageFormat that is not html or text (invalid_field).
func (in SendPrivateMessageInput) Validate() error {
	return firstRefusal(
		reference(FieldUserID, in.UserID),
		required(FieldMessage, in.Message),
		atMostChars(FieldMessage, in.Message, MaxPrivateMessageLength),
		oneOf(FieldMessageFormat, in.MessageFormat, MessageFormats...),
	)
}

// SendPrivateMessage sends a 1:1 message to the user from the token's user (operation
// SendPrivateMessage). Never retried. Errors: an *InvalidInput from Validate, before any call; else
// the *connector.Error of the HipChat call (a 404 is the user's).
func SendPrivateMessage(ctx context.Context, hipchat HipChat, conn connector.Connection, in SendPrivateMessageInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	m := connector.PrivateMessage{Message: in.Message, MessageFormat: in.MessageFormat, Notify: in.Notify}
	if err := hipchat.SendPrivateMessage(ctx, conn, in.UserID, m); err != nil {
		return Done{}, err
	}
	return Done{Summary: "Private message sent to " + in.UserID}, nil
}
