package triggers

import (
	"context"
	"errors"
	"strconv"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// UserSource looks up the users a filter names; *connector.Client is one.
type UserSource interface {
	// GetUser returns a user by id, email or @mention.
	GetUser(ctx context.Context, conn connector.Connection, user string) (connector.User, error)
	// TokenOwner returns the user the connection's token belongs to; ok is false for a token of no
	// user (an add-on or a room's token).
	TokenOwner(ctx context.Context, conn connector.Connection) (owner connector.UserStub, ok bool, err error)
}

// ResolveFilter looks up the users spec names (mentions, from) and returns the spec with their
// HipChat ids, so that matching needs no further call and a renamed user still matches. me is the
// connection's own user. It makes one HipChat call per user named (me: one per connection, which
// the client keeps). Errors: *InvalidFilter naming the parameter for a user HipChat does not know,
// or for me on a token that belongs to no user (an add-on or room token) or whose user HipChat will
// not say; *connector.Error for any other failure of HipChat (token rejected, rate limited, down).
func ResolveFilter(ctx context.Context, src UserSource, conn connector.Connection, spec FilterSpec) (FilterSpec, error) {
	var err error
	if spec.Mentions, err = resolveUser(ctx, src, conn, FieldMentions, spec.Mentions); err != nil {
		return FilterSpec{}, err
	}
	if spec.From, err = resolveUser(ctx, src, conn, FieldFrom, spec.From); err != nil {
		return FilterSpec{}, err
	}
	return spec, nil
}

func resolveUser(ctx context.Context, src UserSource, conn connector.Connection, field string, ref *UserRef) (*UserRef, error) {
	if ref == nil {
		return nil, nil
	}
	if ref.Given == Me {
		return resolveMe(ctx, src, conn, field)
	}
	user, err := src.GetUser(ctx, conn, ref.Given)
	if connector.KindOf(err) == connector.KindNotFound {
		return nil, &InvalidFilter{Field: field, Message: "HipChat knows no user " + strconv.Quote(ref.Given) +
			" (give a user id, an email or an @mention name)"}
	}
	if err != nil {
		return nil, err
	}
	return &UserRef{Given: ref.Given, ID: user.ID, MentionName: user.MentionName}, nil
}

func resolveMe(ctx context.Context, src UserSource, conn connector.Connection, field string) (*UserRef, error) {
	owner, ok, err := src.TokenOwner(ctx, conn)
	var upstream *connector.Error
	switch {
	case errors.As(err, &upstream) && (upstream.Kind == connector.KindNotFound || upstream.Kind == connector.KindScopeMissing):
		return nil, &InvalidFilter{Field: field, Message: field + "=me: HipChat did not say whose token this is (" +
			upstream.Message + "); name the user instead: an id, an email or an @mention name"}
	case err != nil:
		return nil, err
	case !ok || owner.ID == 0:
		return nil, &InvalidFilter{Field: field, Message: field + "=me needs a token that belongs to a user, and this " +
			"connection's token belongs to none (an add-on or room token); name the user instead: an id, an email or an @mention name"}
	}
	return &UserRef{Given: Me, ID: owner.ID, MentionName: owner.MentionName}, nil
}
