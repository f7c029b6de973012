package connector

import (
	"encoding/json"
	"time"
)

// UserStub is a user as HipChat lists it (room members, message authors, mentions).
type UserStub struct {
	ID          int      `json:"id"`
	MentionName string   `json:"mention_name"`
	Name        string   `json:"name"`
	Version     string   `json:"version,omitempty"`
	RoomRoles   []string `json:"room_roles,omitempty"`
}

// User is HipChat's full user (GET /v2/user/{id}); fields the connector does not model are dropped.
type User struct {
	ID           int     `json:"id"`
	Email        *string `json:"email"`
	MentionName  string  `json:"mention_name"`
	Name         string  `json:"name"`
	Title        string  `json:"title,omitempty"`
	Timezone     string  `json:"timezone,omitempty"`
	IsGroupAdmin bool    `json:"is_group_admin"`
	IsGuest      bool    `json:"is_guest"`
	IsDeleted    bool    `json:"is_deleted"`
	XMPPJID      string  `json:"xmpp_jid,omitempty"`
	PhotoURL     *string `json:"photo_url,omitempty"`
}

// Room is a room as HipChat lists it.
type Room struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Privacy    string `json:"privacy"`
	IsArchived bool   `json:"is_archived"`
	Version    string `json:"version,omitempty"`
}

// PostedMessage is HipChat's answer to a posted message.
type PostedMessage struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
}

// Message is one room history item. From is either a user (people) or a label (notifications), and
// Message is nil for a deleted message.
type Message struct {
	ID                string             `json:"id"`
	Date              string             `json:"date"`
	Type              string             `json:"type"`
	From              Sender             `json:"from"`
	Message           *string            `json:"message"`
	MessageFormat     string             `json:"message_format,omitempty"`
	Color             *string            `json:"color,omitempty"`
	Mentions          []UserStub         `json:"mentions"`
	File              *File              `json:"file,omitempty"`
	AuthenticatedFile *AuthenticatedFile `json:"authenticated_file,omitempty"`
	Card              json.RawMessage    `json:"card,omitempty"`
	AttachTo          string             `json:"attach_to,omitempty"`

	// Time is Date parsed; the zero time when HipChat sent a date the connector cannot read.
	Time time.Time `json:"-"`
}

// File is a file shared in a room.
type File struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	URL      string `json:"url"`
	ThumbURL string `json:"thumb_url,omitempty"`
}

// AuthenticatedFile is a file in a group with secure file storage: it has an id instead of a URL.
type AuthenticatedFile struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// HasFile reports whether the message carries an uploaded file.
func (m Message) HasFile() bool { return m.File != nil || m.AuthenticatedFile != nil }

// Deleted reports whether HipChat returned the message as deleted (no body).
func (m Message) Deleted() bool { return m.Message == nil }

// Sender is a message's from: a user for what people post, a plain label for notifications.
type Sender struct {
	User  *UserStub
	Label string
}

// UnmarshalJSON accepts from as an object (a user), a string (a notification's label) or null.
func (s *Sender) UnmarshalJSON(b []byte) error {
	*s = Sender{}
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.Label)
	}
	var u UserStub
	if err := json.Unmarshal(b, &u); err != nil {
		return err
	}
	s.User = &u
	return nil
}

// MarshalJSON writes the user object, or the label as a string, as HipChat did.
func (s Sender) MarshalJSON() ([]byte, error) {
	if s.User != nil {
		return json.Marshal(s.User)
	}
	if s.Label != "" {
		return json.Marshal(s.Label)
	}
	return []byte("null"), nil
}

// parseDate reads HipChat's message dates ("2018-01-10T09:35:50.702319+00:00").
func parseDate(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// userID names a user in a listing (listAll).
func userID(u UserStub) int { return u.ID }
