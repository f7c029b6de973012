package triggers

import (
	"context"
	"strconv"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// RoomLookup finds a room by id or name; *connector.Client is one.
type RoomLookup interface {
	GetRoom(ctx context.Context, conn connector.Connection, room string) (connector.RoomDetails, error)
}

// ResolvedRoom is a room as HipChat names it: its numeric id and its name. A trigger resolves the
// room it was given (an id or a name, as the user typed it) once, when it is subscribed or first
// polled, and every item it delivers carries this id and name, so that the same message reaches a
// subscription made by name and one made by id with the same room_id. The name is the one the room
// had then: HipChat sends no rename to a trigger, and looking it up again on every read would cost
// a call of the connection's budget each time. The zero value is a room not resolved yet (HipChat's
// room ids start at 1).
type ResolvedRoom struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Resolved reports whether r names a room (it is not the zero value).
func (r ResolvedRoom) Resolved() bool { return r.ID > 0 }

// Ref is how to name the room to HipChat: its id once resolved, so that a room given by its name
// is still found after it is renamed; else given, the room as given.
func (r ResolvedRoom) Ref(given string) string {
	if !r.Resolved() {
		return given
	}
	return strconv.Itoa(r.ID)
}

// ResolveRoom looks up room (an id or a name) with one HipChat call (scope view_group or
// view_room). Errors: *connector.Error from HipChat (KindNotFound for an unknown room), or ctx's.
func ResolveRoom(ctx context.Context, src RoomLookup, conn connector.Connection, room string) (ResolvedRoom, error) {
	details, err := src.GetRoom(ctx, conn, room)
	if err != nil {
		return ResolvedRoom{}, err
	}
	return ResolvedRoom{ID: details.ID, Name: details.Name}, nil
}
