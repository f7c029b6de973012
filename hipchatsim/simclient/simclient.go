// Package simclient drives a HipChat v2 server, usually the emulator, over HTTP the way a person or
// an integration would: make users, tokens and rooms, post messages, notifications and files,
// archive rooms. It also reaches the emulator's /_sim/ side channel (call counts, faults, deleting a
// message). The demo seeds the emulator with it and the tests of every package build their worlds
// with it, so a world is always built through the HipChat API itself.
package simclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Client calls one HipChat v2 server.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// New returns a client for the server at baseURL with a pooled transport and a 30 s timeout.
func New(baseURL string) *Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
}

// StatusError is a non-2xx answer: its status and body.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// Do sends one request with token (none when ""), body JSON-encoded when not nil, and decodes a 2xx
// JSON answer into out when not nil. A non-2xx answer is a *StatusError.
func (c *Client) Do(ctx context.Context, method, path, token string, body, out any) error {
	var reader io.Reader
	contentType := ""
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader, contentType = bytes.NewReader(encoded), "application/json"
	}
	return c.send(ctx, method, path, token, contentType, reader, out)
}

func (c *Client) send(ctx context.Context, method, path, token, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decoding %q: %w", method, path, raw, err)
		}
	}
	return nil
}

// NewUser is a user to create; Password lets it log in with grant_type=password.
type NewUser struct {
	Name        string `json:"name"`
	MentionName string `json:"mention_name,omitempty"`
	Email       string `json:"email"`
	Password    string `json:"password,omitempty"`
}

// CreateUser creates u with a group admin's token and returns its id.
func (c *Client) CreateUser(ctx context.Context, adminToken string, u NewUser) (int, error) {
	var created struct{ ID int }
	err := c.Do(ctx, "POST", "/v2/user", adminToken, u, &created)
	return created.ID, err
}

// PasswordToken logs a user in (grant_type=password) and returns a user token with scopes (a
// space-separated list; every scope when "").
func (c *Client) PasswordToken(ctx context.Context, email, password, scopes string) (string, error) {
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	if scopes != "" {
		form.Set("scope", scopes)
	}
	return c.token(ctx, form, "")
}

// PersonalToken issues a personal access token for user (id, email or @mention) with a group
// admin's token, as a user generates one in HipChat's account settings.
func (c *Client) PersonalToken(ctx context.Context, adminToken, user string) (string, error) {
	return c.token(ctx, url.Values{"grant_type": {"personal"}, "user_id": {user}}, adminToken)
}

func (c *Client) token(ctx context.Context, form url.Values, bearer string) (string, error) {
	var issued struct {
		AccessToken string `json:"access_token"`
	}
	err := c.send(ctx, "POST", "/v2/oauth/token", bearer, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), &issued)
	if err == nil && issued.AccessToken == "" {
		err = fmt.Errorf("POST /v2/oauth/token: no access_token in the answer")
	}
	return issued.AccessToken, err
}

// CreateRoom creates a room (privacy "public" or "private") owned by the token's user and returns its id.
func (c *Client) CreateRoom(ctx context.Context, token, name, privacy string) (int, error) {
	var created struct{ ID int }
	err := c.Do(ctx, "POST", "/v2/room", token, map[string]any{"name": name, "privacy": privacy}, &created)
	return created.ID, err
}

// ArchiveRoom archives room (id or name).
func (c *Client) ArchiveRoom(ctx context.Context, token, room string) error {
	return c.Do(ctx, "PUT", roomPath(room, ""), token, map[string]any{"is_archived": true}, nil)
}

// UnarchiveRoom brings an archived room back.
func (c *Client) UnarchiveRoom(ctx context.Context, token, room string) error {
	return c.Do(ctx, "PUT", roomPath(room, ""), token, map[string]any{"is_archived": false}, nil)
}

// DeleteRoom deletes room.
func (c *Client) DeleteRoom(ctx context.Context, token, room string) error {
	return c.Do(ctx, "DELETE", roomPath(room, ""), token, nil, nil)
}

// SetTopic sets the room's topic (a token with admin_room).
func (c *Client) SetTopic(ctx context.Context, token, room, topic string) error {
	return c.Do(ctx, "PUT", roomPath(room, "/topic"), token, map[string]string{"topic": topic}, nil)
}

// Invite makes user a participant of the public room.
func (c *Client) Invite(ctx context.Context, token, room, user string) error {
	return c.Do(ctx, "POST", roomPath(room, "/invite/"+url.PathEscape(user)), token, map[string]string{"reason": "join us"}, nil)
}

// RemoveMember removes user from the private room (it leaves the room too).
func (c *Client) RemoveMember(ctx context.Context, token, room, user string) error {
	return c.Do(ctx, "DELETE", roomPath(room, "/member/"+url.PathEscape(user)), token, nil, nil)
}

// AddMember adds user to the private room.
func (c *Client) AddMember(ctx context.Context, token, room, user string) error {
	return c.Do(ctx, "PUT", roomPath(room, "/member/"+url.PathEscape(user)), token, nil, nil)
}

// PostMessage posts text to room as the token's user and returns the message id.
func (c *Client) PostMessage(ctx context.Context, token, room, text string) (string, error) {
	var posted struct{ ID string }
	err := c.Do(ctx, "POST", roomPath(room, "/message"), token, map[string]string{"message": text}, &posted)
	return posted.ID, err
}

// Notify sends a notification to room with the label from.
func (c *Client) Notify(ctx context.Context, token, room, from, text string) error {
	return c.Do(ctx, "POST", roomPath(room, "/notification"), token,
		map[string]any{"message": text, "from": from, "message_format": "text", "color": "green"}, nil)
}

// ShareFile uploads a file to room as HipChat takes it: multipart/related with a JSON metadata part
// (the message) and a file part.
func (c *Client) ShareFile(ctx context.Context, token, room, filename, contentType string, content []byte, message string) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	meta, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":        {"application/json; charset=UTF-8"},
		"Content-Disposition": {`attachment; name="metadata"`},
	})
	if err != nil {
		return err
	}
	if err := json.NewEncoder(meta).Encode(map[string]string{"message": message}); err != nil {
		return err
	}
	file, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":        {contentType},
		"Content-Disposition": {fmt.Sprintf(`attachment; name="file"; filename=%q`, filename)},
	})
	if err != nil {
		return err
	}
	if _, err := file.Write(content); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.send(ctx, "POST", roomPath(room, "/share/file"), token, "multipart/related; boundary="+w.Boundary(), &body, nil)
}

// DeleteMessage deletes a message through the emulator's side channel (HipChat's v2 API had no such
// method; in HipChat a person deleted it in a client).
func (c *Client) DeleteMessage(ctx context.Context, room, messageID string) error {
	return c.Do(ctx, "DELETE", "/_sim/room/"+url.PathEscape(room)+"/history/"+url.PathEscape(messageID), "", nil, nil)
}

// TokenCalls is the emulator's count of one token's calls.
type TokenCalls struct {
	TokenSHA256  string `json:"token_sha256"`
	Total        int    `json:"total"`
	MaxInAny60s  int    `json:"max_in_any_60s"`
	MaxInAny300s int    `json:"max_in_any_300s"`
}

// CallsOf returns what the emulator counted for token (zeros when it made no call).
func (c *Client) CallsOf(ctx context.Context, token string) (TokenCalls, error) {
	var all struct {
		Tokens []TokenCalls `json:"tokens"`
	}
	if err := c.Do(ctx, "GET", "/_sim/calls", "", nil, &all); err != nil {
		return TokenCalls{}, err
	}
	sum := TokenSHA256(token)
	for _, t := range all.Tokens {
		if t.TokenSHA256 == sum {
			return t, nil
		}
	}
	return TokenCalls{TokenSHA256: sum}, nil
}

// Fault is an injected failure of the emulator: Status (401, 429, 500 or 503) at Rate (0–1) of the
// requests of the token with TokenSHA256 (all when ""), each delayed by DelayMS.
type Fault struct {
	TokenSHA256 string  `json:"token_sha256,omitempty"`
	Status      int     `json:"status,omitempty"`
	Rate        float64 `json:"rate"`
	DelayMS     int     `json:"delay_ms,omitempty"`
}

// InjectFault makes the emulator fail or delay requests until ClearFaults.
func (c *Client) InjectFault(ctx context.Context, f Fault) error {
	return c.Do(ctx, "POST", "/_sim/faults", "", f, nil)
}

// ClearFaults ends every injected fault.
func (c *Client) ClearFaults(ctx context.Context) error {
	return c.Do(ctx, "DELETE", "/_sim/faults", "", nil, nil)
}

// TokenSHA256 is how the emulator's side channel names a token.
func TokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func roomPath(room, rest string) string { return "/v2/room/" + url.PathEscape(room) + rest }

// Person is a user made by NewPerson, with its personal access token.
type Person struct {
	ID                   int
	Name, Mention, Email string
	Password, Token      string
}

// NewPerson creates a user named name with mention name mention (email <mention>@example.com,
// a password) and issues it a personal access token with every scope, as a workflow designer would
// for the connector's connection.
func (c *Client) NewPerson(ctx context.Context, adminToken, name, mention string) (Person, error) {
	p := Person{Name: name, Mention: mention, Email: strings.ToLower(mention) + "@example.com", Password: "pw-" + mention}
	id, err := c.CreateUser(ctx, adminToken, NewUser{Name: name, MentionName: mention, Email: p.Email, Password: p.Password})
	if err != nil {
		return p, err
	}
	p.ID = id
	p.Token, err = c.PersonalToken(ctx, adminToken, p.Email)
	return p, err
}
