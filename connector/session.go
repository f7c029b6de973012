package connector

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
)

// maxOwners bounds the owners a Client keeps; beyond it, one entry is dropped for each new one.
const maxOwners = 10_000

// owners keeps, per connection id, whom its token belongs to: a token's owner never changes, so it
// is asked of HipChat once per connection.
type owners struct {
	mu     sync.Mutex
	byConn map[string]ownerEntry
}

type ownerEntry struct {
	user UserStub
	ok   bool
}

func (o *owners) get(id string) (ownerEntry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, found := o.byConn[id]
	return e, found
}

func (o *owners) put(id string, e ownerEntry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byConn == nil {
		o.byConn = map[string]ownerEntry{}
	}
	if len(o.byConn) >= maxOwners {
		for other := range o.byConn {
			delete(o.byConn, other)
			break
		}
	}
	o.byConn[id] = e
}

// session is the part of HipChat's GET /v2/oauth/token/{token} answer the connector reads: owner is
// the token's user, null for an add-on's or a room's token.
type session struct {
	Owner *UserStub `json:"owner"`
}

// TokenOwner returns the user the connection's token belongs to (HipChat's session of the token,
// GET /v2/oauth/token/{token}); ok is false for a token of no user: an add-on's or a room's. The
// answer is kept for the connection, so HipChat is asked once. Errors are *Error (HipChat's 401,
// 403, 404…); the token, which that call carries in its path, is scrubbed from them.
func (c *Client) TokenOwner(ctx context.Context, conn Connection) (owner UserStub, ok bool, err error) {
	if e, found := c.owners.get(conn.ID); found {
		return e.user, e.ok, nil
	}
	var s session
	path := "/v2/oauth/token/" + url.PathEscape(conn.Token())
	if err := c.call(ctx, conn, request{method: "GET", path: path}, &s); err != nil {
		return UserStub{}, false, scrubToken(err, conn.Token())
	}
	e := ownerEntry{}
	if s.Owner != nil && s.Owner.ID != 0 {
		e = ownerEntry{user: *s.Owner, ok: true}
	}
	c.owners.put(conn.ID, e)
	return e.user, e.ok, nil
}

// scrubToken returns err without token in it: a transport error names the URL it failed on.
func scrubToken(err error, token string) error {
	var e *Error
	if !errors.As(err, &e) || e.Cause == nil || token == "" {
		return err
	}
	text := e.Cause.Error()
	if !strings.Contains(text, token) && !strings.Contains(text, url.PathEscape(token)) {
		return err
	}
	scrubbed := *e
	text = strings.ReplaceAll(text, url.PathEscape(token), "[token]")
	scrubbed.Cause = scrubbedError{text: strings.ReplaceAll(text, token, "[token]"), cause: e.Cause}
	return &scrubbed
}

// scrubbedError is a cause whose text had the token taken out; errors.Is and errors.As still see
// the cause (a timeout stays a timeout).
type scrubbedError struct {
	text  string
	cause error
}

func (s scrubbedError) Error() string { return s.text }
func (s scrubbedError) Unwrap() error { return s.cause }
