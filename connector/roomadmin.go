package connector

import (
	"context"
)

// NewRoom is the body of HipChat's create-room call (spec/hipchat-v2.md §2.2).
type NewRoom struct {
	Name        string `json:"name"`
	Privacy     string `json:"privacy,omitempty"`
	Topic       string `json:"topic,omitempty"`
	GuestAccess bool   `json:"guest_access"`
	OwnerUserID string `json:"owner_user_id,omitempty"`
}

// CreatedRoom is HipChat's answer to a created room: its id and link.
type CreatedRoom struct {
	ID    int       `json:"id"`
	Links RoomLinks `json:"links"`
}

// RoomLinks are a room's links. Members is there for private rooms only.
type RoomLinks struct {
	Self         string `json:"self"`
	Participants string `json:"participants,omitempty"`
	Members      string `json:"members,omitempty"`
	Webhooks     string `json:"webhooks,omitempty"`
}

// RoomDetails is HipChat's full room (GET /v2/room/{r}, spec/hipchat-v2.md §2.2); fields the
// connector does not model are dropped.
type RoomDetails struct {
	ID                int        `json:"id"`
	Name              string     `json:"name"`
	Topic             string     `json:"topic"`
	Privacy           string     `json:"privacy"`
	IsArchived        bool       `json:"is_archived"`
	IsGuestAccessible bool       `json:"is_guest_accessible"`
	GuestAccessURL    *string    `json:"guest_access_url"`
	Created           string     `json:"created"`
	LastActive        *string    `json:"last_active"`
	Owner             *UserStub  `json:"owner"`
	Participants      []UserStub `json:"participants"`
	XMPPJID           string     `json:"xmpp_jid"`
	Links             RoomLinks  `json:"links"`
}

// CreateRoom creates a room (scope manage_rooms) and returns HipChat's answer. Never retried: a
// create whose answer was lost may have been made. Errors are *Error; a name in use is HipChat's 400.
func (c *Client) CreateRoom(ctx context.Context, conn Connection, room NewRoom) (CreatedRoom, error) {
	var created CreatedRoom
	err := c.call(ctx, conn, request{method: "POST", path: "/v2/room", body: room}, &created)
	return created, err
}

// GetRoom returns the room by id or name (scope view_group or view_room). Errors are *Error; a 404 is
// the room's.
func (c *Client) GetRoom(ctx context.Context, conn Connection, room string) (RoomDetails, error) {
	var details RoomDetails
	err := c.call(ctx, conn, request{method: "GET", path: roomPath(room, "")}, &details)
	return details, err
}

// SetTopic sets room's topic (scope admin_room); an empty topic clears it. Errors are *Error.
func (c *Client) SetTopic(ctx context.Context, conn Connection, room, topic string) error {
	return c.call(ctx, conn, request{method: "PUT", path: roomPath(room, "/topic"), body: map[string]string{"topic": topic}}, nil)
}

// RemoveMember removes user from the private room's members (scope admin_room). Errors are *Error;
// a public room is HipChat's 400.
func (c *Client) RemoveMember(ctx context.Context, conn Connection, room, user string) error {
	return c.call(ctx, conn, request{method: "DELETE", path: roomPath(room, "/member/"+pathSegment(user))}, nil)
}

// Invite invites user to the public room with reason (scope admin_room). Errors are *Error; a
// private room is HipChat's 400.
func (c *Client) Invite(ctx context.Context, conn Connection, room, user, reason string) error {
	body := map[string]string{}
	if reason != "" {
		body["reason"] = reason
	}
	return c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/invite/"+pathSegment(user)), body: body}, nil)
}
