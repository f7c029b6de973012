package triggers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// A subscription's cursor is stored as bytes the store does not read: the JSON of a MessageCursor
// (kinds message and file) or of a RoomCursor (kind room). These functions are the one place that
// format is written and read.

// EncodeMessageCursor returns the stored form of a message cursor.
func EncodeMessageCursor(c MessageCursor) []byte {
	b, _ := json.Marshal(c) // a plain struct: cannot fail
	return b
}

// DecodeMessageCursor reads a stored message cursor. Errors: bytes that are not one.
func DecodeMessageCursor(b []byte) (MessageCursor, error) {
	var c MessageCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return MessageCursor{}, fmt.Errorf("triggers: stored message cursor: %w", err)
	}
	return c, nil
}

// EncodeRoomCursor returns the stored form of a room cursor.
func EncodeRoomCursor(c RoomCursor) []byte {
	b, _ := json.Marshal(c)
	return b
}

// DecodeRoomCursor reads a stored room cursor. Errors: bytes that are not one.
func DecodeRoomCursor(b []byte) (RoomCursor, error) {
	var c RoomCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return RoomCursor{}, fmt.Errorf("triggers: stored room cursor: %w", err)
	}
	return c, nil
}

// Baseline returns the stored cursor of "now" for a new subscription of kind to room ("" for
// KindRoom): nothing that exists before it is ever delivered. It makes one HipChat call, which also
// proves that the room exists and the token may read it. Errors: *connector.Error from HipChat
// (KindNotFound for an unknown room), or an unknown kind.
func Baseline(ctx context.Context, src Source, conn connector.Connection, kind Kind, room string) ([]byte, error) {
	switch kind {
	case KindMessage, KindFile:
		c, err := MessageBaseline(ctx, src, conn, room)
		if err != nil {
			return nil, err
		}
		return EncodeMessageCursor(c), nil
	case KindRoom:
		c, err := RoomBaseline(ctx, src, conn)
		if err != nil {
			return nil, err
		}
		return EncodeRoomCursor(c), nil
	}
	return nil, kind.Check()
}
