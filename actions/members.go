package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// User is one item of UserList: a room member.
type User struct {
	ID          int    `json:"id"`
	MentionName string `json:"mention_name"`
	Name        string `json:"name"`
}

// UserList is ListUsers' output.
type UserList struct {
	Items []User `json:"items"`
}

// ListUsersInput is ListUsers' input.
type ListUsersInput struct {
	RoomID string // the private room's id or name
}

// Validate refuses a blank RoomID (missing_field).
func (in ListUsersInput) Validate() error {
	return required(FieldRoomID, in.RoomID)
}

// ListUsers lists every member of a private room, all pages (operation ListUsers). Errors: an
// *InvalidInput from Validate, before any call; else the *connector.Error of the HipChat call (a
// 404 is the room's; a public room is HipChat's 400 with its message).
func ListUsers(ctx context.Context, hipchat HipChat, conn connector.Connection, in ListUsersInput) (UserList, error) {
	if err := in.Validate(); err != nil {
		return UserList{}, err
	}
	members, err := hipchat.ListMembers(ctx, conn, in.RoomID)
	if err != nil {
		return UserList{}, err
	}
	list := UserList{Items: make([]User, 0, len(members))}
	for _, m := range members {
		list.Items = append(list.Items, User{ID: m.ID, MentionName: m.MentionName, Name: m.Name})
	}
	return list, nil
}

// AddUserToRoomInput is AddUserToRoom's input.
type AddUserToRoomInput struct {
	RoomID string // the private room's id or name
	UserID string // the user's id, email or @mention name
}

// Validate refuses a blank RoomID, then a blank UserID (missing_field).
func (in AddUserToRoomInput) Validate() error {
	return firstRefusal(required(FieldRoomID, in.RoomID), required(FieldUserID, in.UserID))
}

// AddUserToRoom makes the user a member of the private room and returns a confirmation sentence
// (operation AddUserToRoom); a user who already is a member is no error. Errors: an *InvalidInput
// from Validate, before any call; else the *connector.Error of the HipChat call (a 404 is the
// room's or the user's, as HipChat's message says; a public room is HipChat's 400).
func AddUserToRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in AddUserToRoomInput) (string, error) {
	if err := in.Validate(); err != nil {
		return "", err
	}
	if err := hipchat.AddMember(ctx, conn, in.RoomID, in.UserID); err != nil {
		return "", err
	}
	return "User " + in.UserID + " was added to room " + in.RoomID, nil
}
