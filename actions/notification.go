package actions

import (
	"context"
	"strings"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Limits of a notification (spec/hipchat-v2.md §2.7).
const (
	MaxNotificationLength = 10000 // message, characters
	MaxFromLength         = 64    // from, the label shown beside the sender's name
	MaxMessageIDLength    = 36    // a message id (attachTo, parentMessageId, notBefore): a UUID
)

// The allowed values of a notification (spec/hipchat-v2.md §2.7).
var (
	Colors         = []string{"yellow", "green", "red", "purple", "gray", "random"}
	MessageFormats = []string{"html", "text"}
)

// Field names of SendNotification's body.
const (
	FieldColor         = "color"
	FieldMessageFormat = "messageFormat"
	FieldNotify        = "notify"
	FieldFrom          = "from"
	FieldAttachTo      = "attachTo"
	FieldCard          = "card"
)

// SendNotificationInput is SendNotification's input. Empty optional fields take HipChat's defaults:
// html, yellow, no notify, the token's name as the sender.
type SendNotificationInput struct {
	RoomID        string
	Message       string     // 1–10,000 characters
	Color         string     // one of Colors
	MessageFormat string     // html or text
	Notify        bool       // whether the room's members get a notification (sound, badge)
	From          string     // a label shown beside the sender's name, up to 64 characters
	AttachTo      string     // the id of a message of the room to attach the notification to
	Card          *CardInput // optional
}

// Validate refuses, in this order: a blank RoomID or Message (missing_field), a Message over
// MaxNotificationLength (field_too_long), a Color or MessageFormat not allowed (invalid_field), a
// From over 64 or an AttachTo over 36 characters (field_too_long), then the card's first fault, named
// card.<field>.
func (in SendNotificationInput) Validate() error {
	checks := []error{
		reference(FieldRoomID, in.RoomID),
		required(FieldMessage, in.Message),
		atMostChars(FieldMessage, in.Message, MaxNotificationLength),
		oneOf(FieldColor, in.Color, Colors...),
		oneOf(FieldMessageFormat, in.MessageFormat, MessageFormats...),
		atMostChars(FieldFrom, in.From, MaxFromLength),
		atMostChars(FieldAttachTo, in.AttachTo, MaxMessageIDLength),
	}
	if in.Card != nil {
		checks = append(checks, in.Card.validate(FieldCard))
	}
	return firstRefusal(checks...)
}

// SendNotification sends a notification to the room (operation SendNotification), with a card when
// one is given (its id made up when empty). Never retried. Errors: an *InvalidInput from Validate,
// before any call; else the *connector.Error of the HipChat call (a 404 is the room's; a 403 means
// the token lacks send_notification).
func SendNotification(ctx context.Context, hipchat HipChat, conn connector.Connection, in SendNotificationInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	n := connector.Notification{Message: in.Message, MessageFormat: in.MessageFormat, Color: in.Color,
		Notify: in.Notify, From: in.From, AttachTo: in.AttachTo}
	if in.Card != nil {
		n.Card = in.Card.hipchatCard(newCardID())
	}
	if err := hipchat.SendNotification(ctx, conn, in.RoomID, n); err != nil {
		return Done{}, err
	}
	summary := "Notification sent to room " + in.RoomID
	if in.Card != nil {
		summary += " with " + withArticle(in.Card.Style) + " card"
	}
	return Done{Summary: summary}, nil
}

// withArticle puts "a" or "an" before word, as its first letter sounds.
func withArticle(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
