package triggers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// pollStateVersion is the format of the state token; a token of another version is refused.
const pollStateVersion = 1

// The ways a polling state can be refused; each is a 400 for the caller.
var (
	ErrStateMalformed      = errors.New("the trigger state is malformed or truncated")
	ErrStateForged         = errors.New("the trigger state was not issued by this connector or was altered")
	ErrStateVersion        = errors.New("the trigger state is of an unsupported version")
	ErrStateConnection     = errors.New("the trigger state belongs to another connection")
	ErrStateTarget         = errors.New("the trigger state belongs to another trigger or room")
	ErrStateFilter         = errors.New("the trigger state was issued for other filter parameters (mentions, keywords, pattern, from, include)")
	errStateKeyMissing     = errors.New("no server key to sign trigger states")
	stateEncoding          = base64.RawURLEncoding
	stateSignatureByteSize = 16
)

// pollState is what travels in the Location URL of a polling trigger, signed.
type pollState struct {
	Version    int            `json:"v"`
	Connection string         `json:"c"` // short hash of the connection id
	Target     string         `json:"t"` // short hash of kind and room
	Messages   *MessageCursor `json:"m,omitempty"`
	Rooms      *RoomCursor    `json:"r,omitempty"`
	// Filter is the message trigger's filter, its users looked up: signed with the cursor, so a
	// Location's filter cannot be changed, and the users are not looked up again.
	Filter *FilterSpec `json:"f,omitempty"`
	// Room is the message trigger's room as HipChat names it, resolved on the first poll; absent
	// from states issued before rooms were resolved (the next poll resolves it).
	Room *ResolvedRoom `json:"rm,omitempty"`
}

// MessageState is what the state of a message trigger (OnNewMessage, OnNewFile and the named and
// filtered ones) carries from one poll to the next.
type MessageState struct {
	Cursor MessageCursor
	// Filter is the trigger's filter, its users looked up.
	Filter FilterSpec
	// Room is HipChat's id and name of the trigger's room; the zero value in a state issued before
	// rooms were resolved.
	Room ResolvedRoom
}

// StateCodec signs and checks polling-trigger states with a server key kept in the database, so a
// state is opaque and URL-safe for the client, and a forged, edited, truncated or misplaced one
// (another connection's, another room's) is refused instead of reading the wrong place.
type StateCodec struct{ key []byte }

// NewStateCodec returns a codec signing with key (at least 32 bytes).
func NewStateCodec(key []byte) (*StateCodec, error) {
	if len(key) < 32 {
		return nil, errStateKeyMissing
	}
	return &StateCodec{key: append([]byte(nil), key...)}, nil
}

// EncodeMessages returns the state of a message trigger of kind in room (as the caller gave it) for
// connection connID: its cursor, filter (users looked up) and resolved room.
func (c *StateCodec) EncodeMessages(connID string, kind Kind, room string, ms MessageState) string {
	cursor := ms.Cursor
	s := pollState{Version: pollStateVersion, Connection: shortHash(connID), Target: shortHash(string(kind) + "\x00" + room), Messages: &cursor}
	if filter := ms.Filter; !filter.IsZero() {
		s.Filter = &filter
	}
	if resolved := ms.Room; resolved.Resolved() {
		s.Room = &resolved
	}
	return c.encode(s)
}

// EncodeRooms returns the state for a room cursor, for connection connID.
func (c *StateCodec) EncodeRooms(connID string, cursor RoomCursor) string {
	return c.encode(pollState{Version: pollStateVersion, Connection: shortHash(connID), Target: shortHash(string(KindRoom)), Rooms: &cursor})
}

// DecodeMessages checks state and returns what it carries: the message cursor, the filter (users
// looked up) and the resolved room (zero in a state issued before rooms were resolved). The
// request's filter (as ParseFilter gave it) must be the one the state was issued for. Errors:
// ErrStateMalformed, ErrStateForged, ErrStateVersion, ErrStateConnection, ErrStateTarget,
// ErrStateFilter.
func (c *StateCodec) DecodeMessages(state, connID string, kind Kind, room string, requested FilterSpec) (MessageState, error) {
	s, err := c.decode(state, connID, string(kind)+"\x00"+room)
	if err != nil {
		return MessageState{}, err
	}
	if s.Messages == nil {
		return MessageState{}, ErrStateTarget
	}
	ms := MessageState{Cursor: *s.Messages}
	if s.Filter != nil {
		ms.Filter = *s.Filter
	}
	if !ms.Filter.SameRequest(requested) || !ms.Filter.Resolved() {
		return MessageState{}, ErrStateFilter
	}
	if s.Room != nil {
		ms.Room = *s.Room
	}
	return ms, nil
}

// DecodeRooms checks state and returns its room cursor; errors as DecodeMessages.
func (c *StateCodec) DecodeRooms(state, connID string) (RoomCursor, error) {
	s, err := c.decode(state, connID, string(KindRoom))
	if err != nil {
		return RoomCursor{}, err
	}
	if s.Rooms == nil {
		return RoomCursor{}, ErrStateTarget
	}
	return *s.Rooms, nil
}

func (c *StateCodec) encode(s pollState) string {
	payload, _ := json.Marshal(s) // plain structs: cannot fail
	body := stateEncoding.EncodeToString(payload)
	return body + "." + stateEncoding.EncodeToString(c.sign(body))
}

func (c *StateCodec) decode(state, connID, target string) (pollState, error) {
	body, sig, ok := strings.Cut(state, ".")
	if !ok || body == "" || sig == "" {
		return pollState{}, ErrStateMalformed
	}
	gotSig, err := stateEncoding.DecodeString(sig)
	if err != nil || len(gotSig) != stateSignatureByteSize {
		return pollState{}, ErrStateMalformed
	}
	if !hmac.Equal(gotSig, c.sign(body)) {
		return pollState{}, ErrStateForged
	}
	payload, err := stateEncoding.DecodeString(body)
	if err != nil {
		return pollState{}, ErrStateMalformed
	}
	var s pollState
	if err := json.Unmarshal(payload, &s); err != nil {
		return pollState{}, ErrStateMalformed
	}
	switch {
	case s.Version != pollStateVersion:
		return pollState{}, ErrStateVersion
	case s.Connection != shortHash(connID):
		return pollState{}, ErrStateConnection
	case s.Target != shortHash(target):
		return pollState{}, ErrStateTarget
	}
	return s, nil
}

func (c *StateCodec) sign(body string) []byte {
	mac := hmac.New(sha256.New, c.key)
	mac.Write([]byte(body))
	return mac.Sum(nil)[:stateSignatureByteSize]
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
