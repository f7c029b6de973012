package triggers

import (
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Kind is a trigger kind; the same three serve polling triggers and callback subscriptions.
type Kind string

const (
	// KindMessage (OnNewMessage): what people and integrations post to a room: messages (with or
	// without a file) and notifications. Topic changes, guest-access changes and deleted messages are
	// not posts anyone wants a flow to answer, so they are passed over.
	KindMessage Kind = "message"
	// KindFile (OnNewFile): messages that carry an uploaded file (file or authenticated_file).
	KindFile Kind = "file"
	// KindRoom (OnNewRoom): rooms created, including ones archived again before the next read.
	KindRoom Kind = "room"
)

// Valid reports whether k is one of the three kinds.
func (k Kind) Valid() bool { return k == KindMessage || k == KindFile || k == KindRoom }

// Check returns nil for a valid kind, else an error naming the accepted kinds.
func (k Kind) Check() error {
	if k.Valid() {
		return nil
	}
	return fmt.Errorf("unknown trigger kind %q (want message, file or room)", string(k))
}

// Room reports whether the kind watches a room's history (message, file), not the room list.
func (k Kind) Room() bool { return k == KindMessage || k == KindFile }

// EventType is the event name a delivery of this kind carries.
func (k Kind) EventType() string {
	switch k {
	case KindFile:
		return "file.uploaded"
	case KindRoom:
		return "room.created"
	}
	return "message.posted"
}

// Matches reports whether a history message is an item of kind k.
func (k Kind) Matches(m connector.Message) bool {
	if m.Deleted() {
		return false
	}
	switch k {
	case KindMessage:
		return m.Type == "message" || m.Type == "notification" || m.Type == ""
	case KindFile:
		return m.HasFile()
	}
	return false
}
