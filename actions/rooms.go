package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Room is one item of RoomList: a room as the designer's room picker shows it.
type Room struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Privacy    string `json:"privacy"`
	IsArchived bool   `json:"is_archived"`
}

// RoomList is ListRooms' output.
type RoomList struct {
	Items []Room `json:"items"`
}

// ListRooms is the room picker (operation ListRooms, internal): every non-archived room the token
// can see, public and private, all pages. Errors: the *connector.Error of the HipChat call.
func ListRooms(ctx context.Context, hipchat HipChat, conn connector.Connection, _ NoInput) (RoomList, error) {
	rooms, err := hipchat.ListRooms(ctx, conn, false)
	if err != nil {
		return RoomList{}, err
	}
	list := RoomList{Items: make([]Room, 0, len(rooms))}
	for _, r := range rooms {
		list.Items = append(list.Items, Room{ID: r.ID, Name: r.Name, Privacy: r.Privacy, IsArchived: r.IsArchived})
	}
	return list, nil
}
