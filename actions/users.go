package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// UserResponse is GetUserByID's output. Email is empty when HipChat does not show it to the token.
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

// GetUserByIDInput is GetUserByID's input.
type GetUserByIDInput struct {
	UserID string // the user's id, email or @mention name
}

// Validate refuses a blank UserID (missing_field).
func (in GetUserByIDInput) Validate() error {
	return reference(FieldUserID, in.UserID)
}

// GetUserByID returns one user by id, email or @mention name (operation GetUserByID). Errors: an
// *InvalidInput from Validate, before any call; else the *connector.Error of the HipChat call (a
// 404 is the user's).
func GetUserByID(ctx context.Context, hipchat HipChat, conn connector.Connection, in GetUserByIDInput) (UserResponse, error) {
	if err := in.Validate(); err != nil {
		return UserResponse{}, err
	}
	u, err := hipchat.GetUser(ctx, conn, in.UserID)
	if err != nil {
		return UserResponse{}, err
	}
	out := UserResponse{ID: u.ID, MentionName: u.MentionName, Name: u.Name, Title: u.Title, Timezone: u.Timezone,
		IsGroupAdmin: u.IsGroupAdmin, IsGuest: u.IsGuest, IsDeleted: u.IsDeleted}
	if u.Email != nil {
		out.Email = *u.Email
	}
	return out, nil
}

// UserChoice is one item of ListAllUsers: a user as the designer's user picker shows it.
type UserChoice struct {
	ID          int    `json:"id"`
	MentionName string `json:"mention_name"`
	Name        string `json:"name"`
	// DisplayName is what the picker shows: "Ann Lee (@ann)".
	DisplayName string `json:"display_name"`
}

// UserChoices is ListAllUsers' output, in the {items:[…]} shape of the room picker.
type UserChoices struct {
	Items []UserChoice `json:"items"`
}

// ListAllUsers is the user picker (operation ListAllUsers, internal): every active user of the group,
// guests and deleted users left out, all pages. Errors: the *connector.Error of the HipChat call (a
// 403 means the token lacks view_group).
func ListAllUsers(ctx context.Context, hipchat HipChat, conn connector.Connection, _ NoInput) (UserChoices, error) {
	users, err := hipchat.ListUsers(ctx, conn)
	if err != nil {
		return UserChoices{}, err
	}
	out := UserChoices{Items: make([]UserChoice, 0, len(users))}
	for _, u := range users {
		out.Items = append(out.Items, UserChoice{ID: u.ID, MentionName: u.MentionName, Name: u.Name,
			DisplayName: u.Name + " (@" + u.MentionName + ")"})
	}
	return out, nil
}
