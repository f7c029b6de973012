package actions

import (
	"context"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// HipChat is the HipChat calls the actions make, each for the connection given; *connector.Client
// satisfies it. Its errors are *connector.Error.
type HipChat interface {
	ListRooms(ctx context.Context, conn connector.Connection, includeArchived bool) ([]connector.Room, error)
	ListMembers(ctx context.Context, conn connector.Connection, room string) ([]connector.UserStub, error)
	GetUser(ctx context.Context, conn connector.Connection, user string) (connector.User, error)
	PostMessage(ctx context.Context, conn connector.Connection, room, message string) (connector.PostedMessage, error)
	AddMember(ctx context.Context, conn connector.Connection, room, user string) error
}

// Input is what every action's input has: Validate returns nil or the *InvalidInput naming the
// first field at fault, in the order the connector definition lists the parameters.
type Input interface {
	Validate() error
}

// NoInput is the input of an action that takes none, such as a picker.
type NoInput struct{}

// Validate accepts NoInput: there is nothing to refuse.
func (NoInput) Validate() error { return nil }
