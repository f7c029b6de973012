package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Room is one item of RoomList: a room as the designer's room picker shows it.
type Room struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Privacy    string `json:"privacy"`
	IsArchived bool   `json:"is_archived"`
}

// RoomList is ListRooms' answer.
type RoomList struct {
	Items []Room `json:"items"`
}

// handleListRooms handles GET /rooms (operation ListRooms, internal): every non-archived room the token can
// see, public and private, all pages. Errors: 401, 403, 429, 502/504 from the HipChat call.
func handleListRooms(client *connector.Client) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		rooms, err := client.ListRooms(c.Request.Context(), conn, false)
		if err != nil {
			return toAPIError(err, subjectUnknown)
		}
		list := RoomList{Items: make([]Room, 0, len(rooms))}
		for _, r := range rooms {
			list.Items = append(list.Items, Room{ID: r.ID, Name: r.Name, Privacy: r.Privacy, IsArchived: r.IsArchived})
		}
		c.JSON(http.StatusOK, list)
		return nil
	})
}

// handleAddUserToRoom handles PUT /rooms/{roomId}/members/{userId} (operation AddUserToRoom): makes the user
// (id, email or @mention name) a member of the private room and answers a confirmation string. A user
// who already is a member is no error. Errors: 400 missing_field for a blank roomId or userId, 400
// bad_request when HipChat refuses (a public room), 404 room_not_found or user_not_found, 401, 403, 429,
// 502/504.
func handleAddUserToRoom(client *connector.Client) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		room, err := pathParam(c, paramRoomID)
		if err != nil {
			return err
		}
		user, err := pathParam(c, paramUserID)
		if err != nil {
			return err
		}
		if err := client.AddMember(c.Request.Context(), conn, room, user); err != nil {
			return toAPIError(err, subjectRoomOrUser)
		}
		c.JSON(http.StatusOK, "User "+user+" was added to room "+room)
		return nil
	})
}
