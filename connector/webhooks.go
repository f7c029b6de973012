package connector

import (
	"context"
	"strconv"
)

// RoomWebhook is a room webhook as HipChat lists it (spec/hipchat-v2.md §8).
type RoomWebhook struct {
	ID             int    `json:"id"`
	URL            string `json:"url"`
	Event          string `json:"event"`
	Pattern        string `json:"pattern,omitempty"`
	Name           string `json:"name,omitempty"`
	Key            string `json:"key,omitempty"`
	Authentication string `json:"authentication,omitempty"`
}

// CreateRoomWebhook registers hook on room (scope admin_room) and returns its id. Never retried.
// Errors are *Error: KindScopeMissing without admin_room, KindBadRequest for a refused URL or event.
func (c *Client) CreateRoomWebhook(ctx context.Context, conn Connection, room string, hook RoomWebhook) (int, error) {
	body := map[string]string{"url": hook.URL, "event": hook.Event, "authentication": "none"}
	if hook.Name != "" {
		body["name"] = hook.Name
	}
	if hook.Key != "" {
		body["key"] = hook.Key
	}
	if hook.Pattern != "" {
		body["pattern"] = hook.Pattern
	}
	var created struct {
		ID int `json:"id"`
	}
	err := c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/webhook"), body: body}, &created)
	return created.ID, err
}

// ListRoomWebhooks returns every webhook of room, following all pages. Errors are *Error.
func (c *Client) ListRoomWebhooks(ctx context.Context, conn Connection, room string) ([]RoomWebhook, error) {
	return listAll(ctx, c, conn, roomPath(room, "/webhook"), nil, func(w RoomWebhook) int { return w.ID })
}

// DeleteRoomWebhook deletes webhook id of room; one already gone (404) is no error.
func (c *Client) DeleteRoomWebhook(ctx context.Context, conn Connection, room string, id int) error {
	err := c.call(ctx, conn, request{method: "DELETE", path: roomPath(room, "/webhook/"+strconv.Itoa(id))}, nil)
	if KindOf(err) == KindNotFound {
		return nil
	}
	return err
}
