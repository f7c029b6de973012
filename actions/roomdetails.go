package actions

import (
	"context"
	"strconv"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// RoomDetails is the output of GetRoom and CreateRoom: a room as HipChat describes it, with the
// count of its participants (the people in it now).
type RoomDetails struct {
	ID                int       `json:"id"`
	Name              string    `json:"name"`
	Topic             string    `json:"topic"`
	Privacy           string    `json:"privacy"`
	IsArchived        bool      `json:"is_archived"`
	IsGuestAccessible bool      `json:"is_guest_accessible"`
	GuestAccessURL    string    `json:"guest_access_url,omitempty"`
	Created           string    `json:"created,omitempty"`
	LastActive        string    `json:"last_active,omitempty"`
	Owner             *User     `json:"owner,omitempty"`
	ParticipantsCount int       `json:"participants_count"`
	Participants      []User    `json:"participants"`
	XMPPJID           string    `json:"xmpp_jid,omitempty"`
	Links             RoomLinks `json:"links"`
}

// RoomLinks are a room's HipChat API links; members is there for private rooms only.
type RoomLinks struct {
	Self         string `json:"self"`
	Participants string `json:"participants,omitempty"`
	Members      string `json:"members,omitempty"`
	Webhooks     string `json:"webhooks,omitempty"`
}

func roomDetails(r connector.RoomDetails) RoomDetails {
	out := RoomDetails{ID: r.ID, Name: r.Name, Topic: r.Topic, Privacy: r.Privacy, IsArchived: r.IsArchived,
		IsGuestAccessible: r.IsGuestAccessible, Created: r.Created, XMPPJID: r.XMPPJID,
		ParticipantsCount: len(r.Participants), Participants: make([]User, 0, len(r.Participants)),
		Links: RoomLinks(r.Links)}
	if r.GuestAccessURL != nil {
		out.GuestAccessURL = *r.GuestAccessURL
	}
	if r.LastActive != nil {
		out.LastActive = *r.LastActive
	}
	if r.Owner != nil {
		out.Owner = &User{ID: r.Owner.ID, MentionName: r.Owner.MentionName, Name: r.Owner.Name}
	}
	for _, p := range r.Participants {
		out.Participants = append(out.Participants, User{ID: p.ID, MentionName: p.MentionName, Name: p.Name})
	}
	return out
}

// GetRoomInput is GetRoom's input.
type GetRoomInput struct {
	RoomID string // the room's id or name
}

// Validate refuses a blank RoomID (missing_field).
func (in GetRoomInput) Validate() error { return reference(FieldRoomID, in.RoomID) }

// GetRoom returns a room's details (operation GetRoom). Errors: an *InvalidInput from Validate,
// before any call; else the *connector.Error of the HipChat call (a 404 is the room's).
func GetRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in GetRoomInput) (RoomDetails, error) {
	if err := in.Validate(); err != nil {
		return RoomDetails{}, err
	}
	r, err := hipchat.GetRoom(ctx, conn, in.RoomID)
	if err != nil {
		return RoomDetails{}, err
	}
	return roomDetails(r), nil
}

// Limits and values of a new room (spec/hipchat-v2.md §2.2).
const (
	MaxRoomNameLength = 50
	MaxTopicLength    = 250
)

// Privacies are the values of a room's privacy.
var Privacies = []string{"public", "private"}

// Field names of CreateRoom's body.
const (
	FieldName        = "name"
	FieldPrivacy     = "privacy"
	FieldTopic       = "topic"
	FieldGuestAccess = "guestAccess"
	FieldOwnerUserID = "ownerUserId"
)

// CreateRoomInput is CreateRoom's input.
type CreateRoomInput struct {
	Name        string // 1–50 characters, unique in the group
	Privacy     string // public (HipChat's default) or private
	Topic       string // up to 250 characters
	GuestAccess bool   // whether guests may join by a link
	OwnerUserID string // the owner's id, email or @mention; empty means the token's user
}

// Validate refuses a blank Name (missing_field), a Name over 50 characters (field_too_long), a
// Privacy that is not public or private (invalid_field), then a Topic over 250 characters.
func (in CreateRoomInput) Validate() error {
	return firstRefusal(
		required(FieldName, in.Name),
		atMostChars(FieldName, in.Name, MaxRoomNameLength),
		oneOf(FieldPrivacy, in.Privacy, Privacies...),
		atMostChars(FieldTopic, in.Topic, MaxTopicLength),
	)
}

// CreateRoom creates a room (operation CreateRoom) and returns it as GetRoom would. The room exists
// once HipChat's create answered: if reading it back fails, the answer is what the create said (id,
// name, link) rather than an error, so that a flow does not create it twice. Never retried. Errors:
// an *InvalidInput from Validate, before any call; else the *connector.Error of the create (a name in
// use is HipChat's 400, its message kept; a 403 means the token lacks manage_rooms).
func CreateRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in CreateRoomInput) (RoomDetails, error) {
	if err := in.Validate(); err != nil {
		return RoomDetails{}, err
	}
	created, err := hipchat.CreateRoom(ctx, conn, connector.NewRoom{Name: in.Name, Privacy: in.Privacy, Topic: in.Topic,
		GuestAccess: in.GuestAccess, OwnerUserID: in.OwnerUserID})
	if err != nil {
		return RoomDetails{}, err
	}
	r, err := hipchat.GetRoom(ctx, conn, strconv.Itoa(created.ID))
	if err != nil {
		privacy := in.Privacy
		if privacy == "" {
			privacy = "public"
		}
		return RoomDetails{ID: created.ID, Name: in.Name, Topic: in.Topic, Privacy: privacy, IsGuestAccessible: in.GuestAccess,
			Participants: []User{}, Links: RoomLinks(created.Links)}, nil
	}
	return roomDetails(r), nil
}
