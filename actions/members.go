package actions

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

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
	return reference(FieldRoomID, in.RoomID)
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
	return firstRefusal(reference(FieldRoomID, in.RoomID), reference(FieldUserID, in.UserID))
}

// AddUserToRoom makes the user a member of the private room and returns a sentence that says
// what happened (operation AddUserToRoom). It reads the room's members first (an email is looked up
// to compare ids): a user who already is a member is told so ("is already a member") and left as
// they are, since HipChat's answer (204 either way) does not tell, and adding again would reset a
// room admin's roles to member. When the members cannot be read (HipChat's 400 or 403: a public
// room, a token without view_room), the add goes ahead and its answer is HipChat's; success then
// says "is now a member". Errors: an *InvalidInput from Validate, before any call; else the
// *connector.Error of a HipChat call (a 404 is the room's or the user's, as HipChat's message
// says; a public room is HipChat's 400).
func AddUserToRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in AddUserToRoomInput) (string, error) {
	if err := in.Validate(); err != nil {
		return "", err
	}
	member, known, err := isMember(ctx, hipchat, conn, in.RoomID, in.UserID)
	if err != nil {
		return "", err
	}
	if member {
		return "User " + in.UserID + " is already a member of room " + in.RoomID, nil
	}
	if err := hipchat.AddMember(ctx, conn, in.RoomID, in.UserID); err != nil {
		return "", err
	}
	if !known {
		return "User " + in.UserID + " is now a member of room " + in.RoomID, nil
	}
	return "User " + in.UserID + " was added to room " + in.RoomID, nil
}

// isMember reports whether user (an id, an email or an @mention) is a member of the private room,
// and whether that could be known: known is false when HipChat would not list the members (400 or
// 403), which the add then answers for itself. Errors: other *connector.Error of the calls.
func isMember(ctx context.Context, hipchat HipChat, conn connector.Connection, room, user string) (member, known bool, err error) {
	members, err := hipchat.ListMembers(ctx, conn, room)
	var hipchatErr *connector.Error
	if errors.As(err, &hipchatErr) && (hipchatErr.Kind == connector.KindBadRequest || hipchatErr.Kind == connector.KindScopeMissing) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	matches, err := userMatcher(ctx, hipchat, conn, user)
	if err != nil {
		return false, false, err
	}
	return slices.ContainsFunc(members, matches), true, nil
}

// userMatcher tells a member stub that is user: by id, by @mention (HipChat's mention names are
// matched without regard to case), or, for an email, by the id HipChat gives it. Errors: the
// *connector.Error of looking an email up (a 404 is the user's).
func userMatcher(ctx context.Context, hipchat HipChat, conn connector.Connection, user string) (func(connector.UserStub) bool, error) {
	user = strings.TrimSpace(user)
	if mention, ok := strings.CutPrefix(user, "@"); ok {
		return func(m connector.UserStub) bool { return strings.EqualFold(m.MentionName, mention) }, nil
	}
	if id, err := strconv.Atoi(user); err == nil {
		return func(m connector.UserStub) bool { return m.ID == id }, nil
	}
	found, err := hipchat.GetUser(ctx, conn, user)
	if err != nil {
		return nil, err
	}
	return func(m connector.UserStub) bool { return m.ID == found.ID }, nil
}

// RemoveUserFromRoomInput is RemoveUserFromRoom's input.
type RemoveUserFromRoomInput struct {
	RoomID string // the private room's id or name
	UserID string // the user's id, email or @mention name
}

// Validate refuses a blank RoomID, then a blank UserID (missing_field).
func (in RemoveUserFromRoomInput) Validate() error {
	return firstRefusal(reference(FieldRoomID, in.RoomID), reference(FieldUserID, in.UserID))
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
	return firstRefusal(reference(FieldRoomID, in.RoomID), reference(FieldUserID, in.UserID),
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
