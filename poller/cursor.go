package poller

import (
	"encoding/json"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// MessageCursorBytes encodes a message cursor as a subscription stores it (state.Subscription.Cursor).
func MessageCursorBytes(c triggers.MessageCursor) []byte {
	b, _ := json.Marshal(c) // a plain struct: cannot fail
	return b
}

// RoomCursorBytes encodes a room cursor as a subscription stores it.
func RoomCursorBytes(c triggers.RoomCursor) []byte {
	b, _ := json.Marshal(c)
	return b
}

// sharedMessageBase is where a feed's one read starts: the oldest cursor of its subscriptions. When
// they all stand at the same place (the usual case), that cursor is kept whole, including its
// knowledge of a backlog (Upper), so draining a backlog costs no extra calls.
func sharedMessageBase(cursors []triggers.MessageCursor) triggers.MessageCursor {
	first := cursors[0]
	for _, c := range cursors[1:] {
		if c.LastID != first.LastID || !c.Date.Equal(first.Date) || c.AtDate != first.AtDate || !c.Upper.Equal(first.Upper) {
			return triggers.OldestMessageCursor(cursors)
		}
	}
	return first
}
