package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Field names and bounds of GetRecentMessages' query.
const (
	FieldMaxResults   = "maxResults"
	FieldNotBefore    = "notBefore"
	DefaultMaxResults = 75 // HipChat's default for history/latest
	MaxRecentMessages = 1000
	minRecentMessages = 1
)

// GetRecentMessagesInput is GetRecentMessages' input.
type GetRecentMessagesInput struct {
	RoomID string
	// MaxResults is how many of the newest messages to return, 1–1000; nil means DefaultMaxResults.
	MaxResults *int
	// NotBefore is the id of the oldest message wanted: HipChat leaves out everything older. When
	// more than MaxResults messages are that new, the newest MaxResults come back and NotBefore's own
	// message is not among them.
	NotBefore string
}

// Validate refuses a blank RoomID (missing_field), a MaxResults outside 1–1000 (invalid_field), then
// a NotBefore over 36 characters (field_too_long).
func (in GetRecentMessagesInput) Validate() error {
	checks := []error{reference(FieldRoomID, in.RoomID)}
	if in.MaxResults != nil {
		checks = append(checks, inRange(FieldMaxResults, *in.MaxResults, minRecentMessages, MaxRecentMessages))
	}
	return firstRefusal(append(checks, atMostChars(FieldNotBefore, in.NotBefore, MaxMessageIDLength))...)
}

// GetRecentMessages returns the room's newest messages, oldest first, in the shape of the message
// triggers' items (operation GetRecentMessages), each with HipChat's id and name of the room
// whether it was given by id or by name: two HipChat calls, the room and its history. Deleted
// messages are left out: a flow reading the room wants what people see. Errors: an *InvalidInput
// from Validate, before any call; else the *connector.Error of a HipChat call (a 404 is the room's).
func GetRecentMessages(ctx context.Context, hipchat HipChat, conn connector.Connection, in GetRecentMessagesInput) (triggers.HistoryResponse, error) {
	if err := in.Validate(); err != nil {
		return triggers.HistoryResponse{}, err
	}
	max := DefaultMaxResults
	if in.MaxResults != nil {
		max = *in.MaxResults
	}
	room, err := triggers.ResolveRoom(ctx, hipchat, conn, in.RoomID)
	if err != nil {
		return triggers.HistoryResponse{}, err
	}
	messages, err := hipchat.RecentMessages(ctx, conn, in.RoomID, in.NotBefore, max)
	if err != nil {
		return triggers.HistoryResponse{}, err
	}
	out := triggers.HistoryResponse{Items: make([]triggers.HistoryItem, 0, len(messages))}
	for _, m := range messages {
		if m.Deleted() {
			continue // HipChat was asked to leave them out; one that slips through is not shown either
		}
		out.Items = append(out.Items, triggers.NewHistoryItem(room, m))
	}
	return out, nil
}
