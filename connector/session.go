package connector

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// Session is what HipChat says of the connection's own token (GET /v2/oauth/token/{token}): whose it
// is and its scopes. The token itself, which HipChat's answer repeats, is not kept.
type Session struct {
	Scopes []string  `json:"scopes"`
	Owner  *UserStub `json:"owner"`
}

// Session reads the connection's own session: one cheap call that every token with any scope may
// make, so it tells whether HipChat accepts the token. Errors are *Error (KindTokenRejected for a
// token HipChat refuses); the token travels in the call's path, so it is scrubbed from the error's
// cause, which may be logged.
func (c *Client) Session(ctx context.Context, conn Connection) (Session, error) {
	var s Session
	err := c.call(ctx, conn, request{method: "GET", path: "/v2/oauth/token/" + url.PathEscape(conn.Token())}, &s)
	var e *Error
	if errors.As(err, &e) && e.Cause != nil {
		e.Cause = scrubbedError{text: strings.ReplaceAll(e.Cause.Error(), url.PathEscape(conn.Token()), "[token]"), timeout: e.TimedOut()}
	}
	return s, err
}

// scrubbedError is an error's text with a secret taken out, and whether it was a timeout: it is a
// net.Error, so a caller still tells a HipChat too slow (504) from one that failed otherwise.
type scrubbedError struct {
	text    string
	timeout bool
}

func (e scrubbedError) Error() string   { return e.text }
func (e scrubbedError) Timeout() bool   { return e.timeout }
func (e scrubbedError) Temporary() bool { return e.timeout }
