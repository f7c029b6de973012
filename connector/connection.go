package connector

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
)

// Connection is one HipChat token at one HipChat base URL: the unit that owns a call budget.
// Its ID is a hash of both, so it can be logged and stored; the token itself never is. Printing a
// Connection (fmt, slog) shows only the ID.
type Connection struct {
	ID      string
	BaseURL string
	token   string
}

// NewConnection returns the connection for token at baseURL (a trailing slash is ignored).
func NewConnection(token, baseURL string) Connection {
	baseURL = strings.TrimRight(baseURL, "/")
	sum := sha256.Sum256([]byte(baseURL + "\x00" + token))
	return Connection{ID: "conn_" + hex.EncodeToString(sum[:16]), BaseURL: baseURL, token: token}
}

// Token returns the HipChat token, for the one place that needs it: the Authorization header of an
// upstream call (and sealing it into a subscription).
func (c Connection) Token() string { return c.token }

// Is reports whether id is this connection's ID, in constant time: the ID stands for the token when
// a request is matched to the subscriptions it owns.
func (c Connection) Is(id string) bool {
	return subtle.ConstantTimeCompare([]byte(c.ID), []byte(id)) == 1
}

// String shows the connection without its token.
func (c Connection) String() string { return c.ID }

// GoString shows the connection without its token, also under %#v.
func (c Connection) GoString() string { return fmt.Sprintf("connector.Connection{ID:%q}", c.ID) }

// LogValue keeps the token out of structured logs.
func (c Connection) LogValue() slog.Value { return slog.StringValue(c.ID) }

// TokenFromAuthorization extracts the token from an Authorization header value: "Bearer <t>" or,
// because Power Automate sends an apiKey connection parameter exactly as typed, a bare "<t>".
// It returns false for an empty header or an empty token.
func TokenFromAuthorization(header string) (string, bool) {
	header = strings.TrimSpace(header)
	if strings.EqualFold(header, "bearer") {
		return "", false
	}
	if len(header) > 7 && strings.EqualFold(header[:7], "bearer ") {
		header = strings.TrimSpace(header[7:])
	}
	if header == "" || strings.ContainsAny(header, " \t\r\n") {
		return "", false
	}
	return header, true
}
