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

// RemoveUserFromRoomInput is RemoveUserFromRoom's input.
type RemoveUserFromRoomInput struct {
	RoomID string // the private room's id or name
	UserID string // the user's id, email or @mention name
}

// Validate refuses a blank RoomID, then a blank UserID (missing_field).
func (in RemoveUserFromRoomInput) Validate() error {
	return firstRefusal(required(FieldRoomID, in.RoomID), required(FieldUserID, in.UserID))
}

// RemoveUserFromRoom removes a member from a private room (operation RemoveUserFromRoom). Errors: an
// *InvalidInput from Validate, before any call; else the *connector.Error of the HipChat call (a 404
// is the room's or the user's, as HipChat's message says; a public room is HipChat's 400; a 403
// means the token lacks admin_room).
func RemoveUserFromRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in RemoveUserFromRoomInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	if err := hipchat.RemoveMember(ctx, conn, in.RoomID, in.UserID); err != nil {
		return Done{}, err
	}
	return Done{Summary: "User " + in.UserID + " was removed from room " + in.RoomID}, nil
}

// FieldReason is the reason InviteUserToRoom gives the invited user.
const FieldReason = "reason"

// MaxReasonLength bounds an invitation's reason, in characters (the emulator's bound; the spec is
// silent).
const MaxReasonLength = 250

// InviteUserToRoomInput is InviteUserToRoom's input.
type InviteUserToRoomInput struct {
	RoomID string // the public room's id or name
	UserID string // the user's id, email or @mention name
	Reason string // what the invited user reads, 1–250 characters
}

// Validate refuses a blank RoomID, UserID or Reason (missing_field), then a Reason over
// MaxReasonLength characters (field_too_long).
func (in InviteUserToRoomInput) Validate() error {
	return firstRefusal(required(FieldRoomID, in.RoomID), required(FieldUserID, in.UserID),
		required(FieldReason, in.Reason), atMostChars(FieldReason, in.Reason, MaxReasonLength))
}

// InviteUserToRoom invites a user to a public room with a reason (operation InviteUserToRoom).
// Errors: an *InvalidInput from Validate, before any call; else the *connector.Error of the HipChat
// call (a 404 is the room's or the user's; a private room is HipChat's 400; a 403 means the token
// lacks admin_room).
func InviteUserToRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in InviteUserToRoomInput) (Done, error) {
	if err := in.Validate(); err != nil {
		return Done{}, err
	}
	if err := hipchat.Invite(ctx, conn, in.RoomID, in.UserID, in.Reason); err != nil {
		return Done{}, err
	}
	return Done{Summary: "User " + in.UserID + " was invited to room " + in.RoomID}, nil
}
