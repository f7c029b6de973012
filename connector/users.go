package connector

import (
	"context"
	"net/url"
)

// ListUsers returns every active user of the group, guests left out, following all pages (scope
// view_group). Errors are *Error.
func (c *Client) ListUsers(ctx context.Context, conn Connection) ([]UserStub, error) {
	return listAll(ctx, c, conn, "/v2/user", url.Values{"include-guests": {"false"}, "include-deleted": {"false"}}, userID)
}
