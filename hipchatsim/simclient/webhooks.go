package simclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Room webhook events, as HipChat named them.
const (
	EventRoomMessage      = "room_message"
	EventRoomNotification = "room_notification"
	EventRoomFileUpload   = "room_file_upload"
	EventRoomTopicChange  = "room_topic_change"
	EventRoomEnter        = "room_enter"
	EventRoomExit         = "room_exit"
	EventRoomArchived     = "room_archived"
	EventRoomUnarchived   = "room_unarchived"
	EventRoomDeleted      = "room_deleted"
)

// NewWebhook is a room webhook to register. URL and Event are required; Pattern (a regular
// expression) filters room_message by text; Authentication is "jwt" or "none" (the default): jwt
// webhooks are signed with the registering add-on's OAuth secret, so they need an add-on token.
type NewWebhook struct {
	URL            string `json:"url"`
	Event          string `json:"event"`
	Pattern        string `json:"pattern,omitempty"`
	Name           string `json:"name,omitempty"`
	Key            string `json:"key,omitempty"`
	Authentication string `json:"authentication,omitempty"`
}

// Webhook is a registered room webhook as GET /v2/room/{room}/webhook lists it.
type Webhook struct {
	ID             int    `json:"id"`
	URL            string `json:"url"`
	Event          string `json:"event"`
	Pattern        string `json:"pattern"`
	Name           string `json:"name"`
	Key            string `json:"key"`
	Authentication string `json:"authentication"`
	Links          struct {
		Self string `json:"self"`
	} `json:"links"`
}

// CreateWebhook registers a webhook on room (id or name) with a token holding admin_room and returns
// its id. An invalid field is a *StatusError with HipChat's 400.
func (c *Client) CreateWebhook(ctx context.Context, token, room string, w NewWebhook) (int, error) {
	var created struct{ ID int }
	err := c.Do(ctx, "POST", roomPath(room, "/webhook"), token, w, &created)
	return created.ID, err
}

// ListWebhooks returns every webhook of room, following links.next.
func (c *Client) ListWebhooks(ctx context.Context, token, room string) ([]Webhook, error) {
	var all []Webhook
	path := roomPath(room, "/webhook")
	for path != "" {
		var page struct {
			Items []Webhook `json:"items"`
			Links struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		if err := c.Do(ctx, "GET", path, token, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		path = strings.TrimPrefix(page.Links.Next, c.BaseURL)
	}
	return all, nil
}

// DeleteWebhook removes webhook id from room.
func (c *Client) DeleteWebhook(ctx context.Context, token, room string, id int) error {
	return c.Do(ctx, "DELETE", roomPath(room, fmt.Sprintf("/webhook/%d", id)), token, nil, nil)
}

// WebhookPayload is the body of a webhook call: Event, the event's Item (message and/or room,
// sender, topic, as HipChat sent them), the registering add-on's OAuthClientID ("" for user tokens)
// and the WebhookID.
type WebhookPayload struct {
	Event         string          `json:"event"`
	Item          json.RawMessage `json:"item"`
	OAuthClientID string          `json:"oauth_client_id"`
	WebhookID     int             `json:"webhook_id"`
}

// WebhookJWT returns the JWT of a jwt webhook call, from the Authorization: JWT header or the
// signed_request query parameter (HipChat's sources name both), or "" when it has none.
func WebhookJWT(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 4 && strings.EqualFold(h[:4], "jwt ") {
		return strings.TrimSpace(h[4:])
	}
	return r.URL.Query().Get("signed_request")
}

// WebhookCall is one webhook call the emulator made or dropped (GET /_sim/webhooks).
type WebhookCall struct {
	Seq       uint64  `json:"seq"`
	At        string  `json:"at"`
	Event     string  `json:"event"`
	URL       string  `json:"url"`
	WebhookID int     `json:"webhook_id"`
	RoomID    int     `json:"room_id"`
	Status    int     `json:"status"` // 0: no answer (see Error)
	LatencyMS float64 `json:"latency_ms"`
	Dropped   bool    `json:"dropped"`
	Error     string  `json:"error"`
}

// WebhookCalls returns the emulator's recent webhook calls, oldest first (it remembers the last few
// hundred).
func (c *Client) WebhookCalls(ctx context.Context) ([]WebhookCall, error) {
	var log struct {
		Calls []WebhookCall `json:"calls"`
	}
	err := c.Do(ctx, "GET", "/_sim/webhooks", "", nil, &log)
	return log.Calls, err
}

// WebhookCallFilter narrows GET /_sim/webhooks: Status lists statuses (404), classes (4xx) and 0
// (no answer), comma-separated; WebhookID keeps one webhook's calls. Zero values select all.
type WebhookCallFilter struct {
	Status    string
	WebhookID int
}

// WebhookCallsMatching returns the emulator's recent webhook calls that pass f, oldest first.
func (c *Client) WebhookCallsMatching(ctx context.Context, f WebhookCallFilter) ([]WebhookCall, error) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.WebhookID != 0 {
		q.Set("webhook_id", strconv.Itoa(f.WebhookID))
	}
	var log struct {
		Calls []WebhookCall `json:"calls"`
	}
	err := c.Do(ctx, "GET", "/_sim/webhooks?"+q.Encode(), "", nil, &log)
	return log.Calls, err
}

// WebhookFault disturbs the emulator's webhook calls: DropRate (0–1) of them are silently not made,
// and each waits DelayMS first.
type WebhookFault struct {
	DropRate float64 `json:"webhook_drop_rate"`
	DelayMS  int     `json:"webhook_delay_ms"`
}

// InjectWebhookFault sets the webhook fault until ClearFaults (which ends every fault).
func (c *Client) InjectWebhookFault(ctx context.Context, f WebhookFault) error {
	return c.Do(ctx, "POST", "/_sim/faults", "", f, nil)
}

// AddonToken gets an add-on token (grant_type=client_credentials) for a fixture add-on client, with
// scopes (space-separated; the add-on's own when "").
func (c *Client) AddonToken(ctx context.Context, clientID, clientSecret, scopes string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scopes != "" {
		form.Set("scope", scopes)
	}
	var issued struct {
		AccessToken string `json:"access_token"`
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+"/v2/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &StatusError{Method: "POST", Path: "/v2/oauth/token", Status: resp.StatusCode}
	}
	if err := json.NewDecoder(resp.Body).Decode(&issued); err != nil {
		return "", err
	}
	return issued.AccessToken, nil
}
