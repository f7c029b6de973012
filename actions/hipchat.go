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
	RemoveMember(ctx context.Context, conn connector.Connection, room, user string) error
	Invite(ctx context.Context, conn connector.Connection, room, user, reason string) error
	SendNotification(ctx context.Context, conn connector.Connection, room string, n connector.Notification) error
	ReplyToMessage(ctx context.Context, conn connector.Connection, room, parentID, message string) error
	SendPrivateMessage(ctx context.Context, conn connector.Connection, user string, m connector.PrivateMessage) error
	ShareLink(ctx context.Context, conn connector.Connection, room, link, message string) error
	ShareFile(ctx context.Context, conn connector.Connection, room string, f connector.SharedFile) error
	SetTopic(ctx context.Context, conn connector.Connection, room, topic string) error
	CreateRoom(ctx context.Context, conn connector.Connection, room connector.NewRoom) (connector.CreatedRoom, error)
	GetRoom(ctx context.Context, conn connector.Connection, room string) (connector.RoomDetails, error)
	RecentMessages(ctx context.Context, conn connector.Connection, room, notBefore string, max int) ([]connector.Message, error)
	ListUsers(ctx context.Context, conn connector.Connection) ([]connector.UserStub, error)
	Session(ctx context.Context, conn connector.Connection) (connector.Session, error)
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

// Done is the output of an action whose HipChat call answers nothing (204): one sentence that says
// what was done, for the flow's run history.
type Done struct {
	Summary string `json:"summary"`
}
