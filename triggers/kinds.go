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

// ParseKind returns the Kind named s, or an error naming the accepted kinds.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindMessage, KindFile, KindRoom:
		return k, nil
	}
	return "", fmt.Errorf("unknown trigger kind %q (want message, file or room)", s)
}

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
