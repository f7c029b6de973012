package actions

import (
	"context"
	"slices"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// ScopesUsed are the HipChat scopes the connector's operations need between them: a token without
// one of them works, but the operations that need it answer 403 scope_missing.
var ScopesUsed = []string{"admin_room", "manage_rooms", "send_message", "send_notification", "view_group", "view_messages", "view_room"}

// ConnectionInfo is TestConnection's output: whose token the connection holds, its scopes, and the
// scopes of ScopesUsed it lacks.
type ConnectionInfo struct {
	User          *User    `json:"user,omitempty"` // nil for a token that is not a user's (an add-on's, a room's)
	Scopes        []string `json:"scopes"`
	MissingScopes []string `json:"missing_scopes"`
}

// TestConnection is the connection wizard's test (operation TestConnection, internal;
// x-ms-capabilities.testConnection): one cheap HipChat call that every token with any scope may make
// (the token's own session). Errors: the *connector.Error of the call (KindTokenRejected for a token
// HipChat refuses).
func TestConnection(ctx context.Context, hipchat HipChat, conn connector.Connection, _ NoInput) (ConnectionInfo, error) {
	session, err := hipchat.Session(ctx, conn)
	if err != nil {
		return ConnectionInfo{}, err
	}
	info := ConnectionInfo{Scopes: append([]string{}, session.Scopes...), MissingScopes: []string{}}
	slices.Sort(info.Scopes)
	if o := session.Owner; o != nil {
		info.User = &User{ID: o.ID, MentionName: o.MentionName, Name: o.Name}
	}
	for _, s := range ScopesUsed {
		if !slices.Contains(session.Scopes, s) {
			info.MissingScopes = append(info.MissingScopes, s)
		}
	}
	return info, nil
}
