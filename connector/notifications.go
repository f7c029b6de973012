package connector

import "context"

// Notification is the body of HipChat's send-notification call (spec/hipchat-v2.md §2.7). Empty
// optional fields are left out, so HipChat applies its defaults (html, yellow).
type Notification struct {
	Message       string `json:"message"`
	MessageFormat string `json:"message_format,omitempty"`
	Color         string `json:"color,omitempty"`
	Notify        bool   `json:"notify"`
	From          string `json:"from,omitempty"`
	AttachTo      string `json:"attach_to,omitempty"`
	Card          *Card  `json:"card,omitempty"`
}

// Card is a notification's card as HipChat takes it (spec/hipchat-v2.md §2.7).
type Card struct {
	Style       string           `json:"style"`
	ID          string           `json:"id"`
	Title       string           `json:"title"`
	Description *CardDescription `json:"description,omitempty"`
	Format      string           `json:"format,omitempty"`
	URL         string           `json:"url,omitempty"`
	Thumbnail   *CardImage       `json:"thumbnail,omitempty"`
	Activity    *CardActivity    `json:"activity,omitempty"`
	Attributes  []CardAttribute  `json:"attributes,omitempty"`
	Icon        *CardImage       `json:"icon,omitempty"`
}

// CardDescription is a card's text and its format (html or text).
type CardDescription struct {
	Value  string `json:"value"`
	Format string `json:"format"`
}

// CardImage is a card's thumbnail or icon: an image URL.
type CardImage struct {
	URL string `json:"url"`
}

// CardActivity is the one-line HTML summary of what happened, shown above the card.
type CardActivity struct {
	HTML string `json:"html"`
}

// CardAttribute is one labelled value shown below a card.
type CardAttribute struct {
	Label string             `json:"label,omitempty"`
	Value CardAttributeValue `json:"value"`
}

// CardAttributeValue is an attribute's value: text, with an optional link and lozenge style.
type CardAttributeValue struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
	Style string `json:"style,omitempty"`
}

// PrivateMessage is the body of HipChat's private-message call: a 1:1 message from the token's user.
type PrivateMessage struct {
	Message       string `json:"message"`
	MessageFormat string `json:"message_format,omitempty"`
	Notify        bool   `json:"notify"`
}

// SendNotification sends a notification to room (scope send_notification). Never retried: a send
// whose answer was lost may have been made. Errors are *Error.
func (c *Client) SendNotification(ctx context.Context, conn Connection, room string, n Notification) error {
	return c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/notification"), body: n}, nil)
}

// ReplyToMessage posts message in room as a reply to the message parentID (scope send_message). Never
// retried. Errors are *Error; HipChat's 400 names an unknown parent.
func (c *Client) ReplyToMessage(ctx context.Context, conn Connection, room, parentID, message string) error {
	body := map[string]string{"parentMessageId": parentID, "message": message}
	return c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/reply"), body: body}, nil)
}

// SendPrivateMessage sends m to user (id, email or @mention) from the token's user (scope
// send_message). Never retried. Errors are *Error; a 404 is the user's.
func (c *Client) SendPrivateMessage(ctx context.Context, conn Connection, user string, m PrivateMessage) error {
	return c.call(ctx, conn, request{method: "POST", path: userPath(user) + "/message", body: m}, nil)
}

// ShareLink shares link in room with an optional message (scope send_message). Never retried.
// Errors are *Error.
func (c *Client) ShareLink(ctx context.Context, conn Connection, room, link, message string) error {
	body := map[string]string{"link": link}
	if message != "" {
		body["message"] = message
	}
	return c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/share/link"), body: body}, nil)
}
