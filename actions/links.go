package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// FieldLink names the link ShareLinkWithRoom shares.
const FieldLink = "link"

// ShareLinkWithRoomInput is ShareLinkWithRoom's input.
type ShareLinkWithRoomInput struct {
	RoomID  string
	Link    string // an absolute http or https URL, up to 2,048 characters
	Message string // optional text posted with the link, up to 1,000 characters
}

// Validate refuses a blank RoomID or Link (missing_field), a Link that is not an absolute http(s)
// URL (invalid_field) or is too long, then a Message over MaxMessageLength (field_too_long).
func (in ShareLinkWithRoomInput) Validate() error {
	return firstRefusal(
		reference(FieldRoomID, in.RoomID),
		required(FieldLink, in.Link),
		absoluteURL(FieldLink, in.Link),
		atMostChars(FieldMessage, in.Message, MaxMessageLength),
	)
}

// ShareLinkWithRoom shares the link in the room as the token's user, with the message (operation
// ShareLinkWithRoom). Never retried. Errors: an *InvalidInput from Validate, before any call; else the
// *connector.Error of the HipChat call (a 404 is the room's).
func ShareLinkWithRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in ShareLinkWithRoomInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	if err := hipchat.ShareLink(ctx, conn, in.RoomID, in.Link, in.Message); err != nil {
		return Done{}, err
	}
	return Done{Summary: "Link shared in room " + in.RoomID}, nil
}
