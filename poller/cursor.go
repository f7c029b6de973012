package poller

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
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

// Baseline returns the stored cursor of "now" for a new subscription of kind (state.KindMessage,
// state.KindFile or state.KindRoom) to room ("" for rooms): nothing that exists before it is ever
// delivered. It makes one HipChat call, which also proves that the room exists and the token may
// read it. Errors: *connector.Error from HipChat (KindNotFound for an unknown room), or an unknown
// kind.
func Baseline(ctx context.Context, src triggers.Source, conn connector.Connection, kind, room string) ([]byte, error) {
	switch kind {
	case state.KindMessage, state.KindFile:
		c, err := triggers.Baseline(ctx, src, conn, room)
		if err != nil {
			return nil, err
		}
		return MessageCursorBytes(c), nil
	case state.KindRoom:
		c, err := triggers.RoomBaseline(ctx, src, conn)
		if err != nil {
			return nil, err
		}
		return RoomCursorBytes(c), nil
	}
	return nil, fmt.Errorf("poller: unknown subscription kind %q", kind)
}
