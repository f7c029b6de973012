package triggers

import (
	"context"
	"sort"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// RoomSource lists rooms; *connector.Client is one.
type RoomSource interface {
	ListRooms(ctx context.Context, conn connector.Connection, includeArchived bool) ([]connector.Room, error)
}

// RoomBatch is what one read of the room list found after a cursor.
type RoomBatch struct {
	Rooms []connector.Room // created after the cursor, in creation (id) order, at most the limit
	More  bool             // further new rooms wait
}

// RoomBaseline returns the cursor of "now": the newest room's id (0 when there are no rooms).
func RoomBaseline(ctx context.Context, src RoomSource, conn connector.Connection) (RoomCursor, error) {
	rooms, err := src.ListRooms(ctx, conn, true)
	if err != nil {
		return RoomCursor{}, err
	}
	cursor := RoomCursor{}
	for _, r := range rooms {
		cursor.MaxID = max(cursor.MaxID, r.ID)
	}
	return cursor, nil
}

// ReadRooms returns up to limit rooms created after cursor (0: all of them). Archived rooms are listed too, so a room
// created and archived again between two reads is still seen. The list is read page by page (one call
// up to 1,000 rooms).
func ReadRooms(ctx context.Context, src RoomSource, conn connector.Connection, cursor RoomCursor, limit int) (RoomBatch, error) {
	rooms, err := src.ListRooms(ctx, conn, true)
	if err != nil {
		return RoomBatch{}, err
	}
	var newer []connector.Room
	for _, r := range rooms {
		if r.ID > cursor.MaxID {
			newer = append(newer, r)
		}
	}
	sort.Slice(newer, func(i, j int) bool { return newer[i].ID < newer[j].ID })
	if limit > 0 && len(newer) > limit {
		return RoomBatch{Rooms: newer[:limit], More: true}, nil
	}
	return RoomBatch{Rooms: newer}, nil
}

// Advance returns the cursor after the first n rooms of the batch.
func (b RoomBatch) Advance(cursor RoomCursor, n int) RoomCursor {
	if n > 0 {
		cursor.MaxID = max(cursor.MaxID, b.Rooms[n-1].ID)
	}
	return cursor
}

// Beyond reports whether cursor c lies beyond the batch: more rooms wait after it and c has passed
// its last one, so the batch holds nothing for c.
func (b RoomBatch) Beyond(c RoomCursor) bool {
	return b.More && len(b.Rooms) > 0 && c.MaxID > b.Rooms[len(b.Rooms)-1].ID
}
