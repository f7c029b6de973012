package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// User is one item of UserList: a room member.
type User struct {
	ID          int    `json:"id"`
	MentionName string `json:"mention_name"`
	Name        string `json:"name"`
}

// UserList is ListUsers' answer.
type UserList struct {
	Items []User `json:"items"`
}

// UserResponse is GetUserByID's answer. Email is empty when HipChat does not show it to the token.
type UserResponse struct {
	Email        string `json:"email"`
	ID           int    `json:"id"`
	MentionName  string `json:"mention_name"`
	Name         string `json:"name"`
	Title        string `json:"title"`
	Timezone     string `json:"timezone,omitempty"`
	IsGroupAdmin bool   `json:"is_group_admin"`
	IsGuest      bool   `json:"is_guest"`
	IsDeleted    bool   `json:"is_deleted"`
}

// handleListUsers handles GET /rooms/{roomId}/members (operation ListUsers): every member of the private
// room, all pages. Errors: 400 missing_field for a blank roomId, 400 bad_request with HipChat's message
// for a public room, 404 room_not_found, 401, 403, 429, 502/504.
func handleListUsers(client *connector.Client) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		room, err := pathParam(c, paramRoomID)
		if err != nil {
			return err
		}
		members, err := client.ListMembers(c.Request.Context(), conn, room)
		if err != nil {
			return toAPIError(err, subjectRoom)
		}
		list := UserList{Items: make([]User, 0, len(members))}
		for _, m := range members {
			list.Items = append(list.Items, User{ID: m.ID, MentionName: m.MentionName, Name: m.Name})
		}
		c.JSON(http.StatusOK, list)
		return nil
	})
}

// handleGetUserByID handles GET /users/{userId} (operation GetUserByID): one user by id, email or @mention
// name. Errors: 400 missing_field for a blank userId, 404 user_not_found, 401, 403, 429, 502/504.
func handleGetUserByID(client *connector.Client) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		userID, err := pathParam(c, paramUserID)
		if err != nil {
			return err
		}
		u, err := client.GetUser(c.Request.Context(), conn, userID)
		if err != nil {
			return toAPIError(err, subjectUser)
		}
		resp := UserResponse{ID: u.ID, MentionName: u.MentionName, Name: u.Name, Title: u.Title, Timezone: u.Timezone,
			IsGroupAdmin: u.IsGroupAdmin, IsGuest: u.IsGuest, IsDeleted: u.IsDeleted}
		if u.Email != nil {
			resp.Email = *u.Email
		}
		c.JSON(http.StatusOK, resp)
		return nil
	})
}
