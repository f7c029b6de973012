package hipchatsim

import (
	"strings"
	"time"
)

// Scopes of HipChat's API (spec §1.10).
const (
	scopeAdminGroup       = "admin_group"
	scopeAdminRoom        = "admin_room"
	scopeManageRooms      = "manage_rooms"
	scopeSendMessage      = "send_message"
	scopeSendNotification = "send_notification"
	scopeViewGroup        = "view_group"
	scopeViewMessages     = "view_messages"
	scopeViewRoom         = "view_room"
)

var scopeNames = []string{scopeAdminGroup, scopeAdminRoom, scopeManageRooms, scopeSendMessage,
	scopeSendNotification, scopeViewGroup, scopeViewMessages, scopeViewRoom}

// scopeSet is a set of scopes as a bit mask in scopeNames order.
type scopeSet uint16

var allScopes = scopeSet(1<<len(scopeNames) - 1)

func scopeBit(name string) scopeSet {
	for i, n := range scopeNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

func (s scopeSet) anyOf(names []string) bool {
	for _, n := range names {
		if s&scopeBit(n) != 0 {
			return true
		}
	}
	return false
}

func (s scopeSet) names() []string {
	out := []string{}
	for i, n := range scopeNames {
		if s&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// parseScopes reads a list of scope names (space-separated in OAuth requests); an unknown name is a
// 400 naming field.
func parseScopes(field string, list []string) (scopeSet, error) {
	var set scopeSet
	for _, n := range list {
		b := scopeBit(n)
		if b == 0 {
			return 0, invalid(field, "choice", n, "Invalid scope: %s", n)
		}
		set |= b
	}
	return set, nil
}

// tokenKind is the kind of client a token acts for (seed 002: group client, room client, user).
type tokenKind int

const (
	kindUser     tokenKind = iota + 1 // grant_type=password
	kindPersonal                      // grant_type=personal, the admin token, fixtures
	kindAddon                         // grant_type=client_credentials: a group client
	kindRoom                          // room notification token: a room client, limited to one room
)

func (k tokenKind) String() string {
	switch k {
	case kindUser:
		return "user"
	case kindPersonal:
		return "personal"
	case kindAddon:
		return "addon"
	case kindRoom:
		return "room"
	}
	return "unknown"
}

// token is an issued access token (an OAuth session).
type token struct {
	value   string
	kind    tokenKind
	user    *user        // user and personal tokens
	client  *addonClient // add-on tokens
	room    *room        // room tokens
	label   string       // room tokens: the integration name shown as a notification's from
	scopes  scopeSet
	created time.Time
	expires time.Time // zero: never
	usage   *usage
}

// addonClient is an add-on's OAuth client (one per installation in HipChat; here from fixtures).
type addonClient struct {
	id, secret, name string
	scopes           scopeSet
}

// addonTokenLifetime is how long client_credentials tokens live (spec §1.2: 8 hours).
const addonTokenLifetime = 8 * time.Hour

// addToken registers t; callers hold s.mu or are still constructing s.
func (s *Server) addToken(t *token) {
	t.usage = newUsage(t.value)
	s.tokens[t.value] = t
}

// lookupToken returns the live token with that value, or nil when it is unknown, revoked, expired
// (on the injected clock) or its user was deleted.
func (s *Server) lookupToken(value string, now time.Time) *token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tokens[value]
	if t == nil || (!t.expires.IsZero() && !now.Before(t.expires)) || (t.user != nil && t.user.deleted) ||
		(t.room != nil && t.room.deleted) {
		return nil
	}
	return t
}

// isGroupAdmin reports whether the token acts with the whole group's view: add-ons installed in the
// group, and group admins.
func (t *token) isGroupAdmin() bool {
	return t.kind == kindAddon || (t.user != nil && t.user.admin)
}

// canSee reports whether the token may address the room: room tokens see only their room, and users
// who are not group admins see private rooms only when they are members ([INFERRED], spec §2.1).
// Rooms a token may not see answer 404 as unknown rooms do. Callers hold s.mu.
func (t *token) canSee(r *room) bool {
	if t.kind == kindRoom {
		return t.room == r
	}
	if r.privacy == "private" && !t.isGroupAdmin() {
		return r.isMember(t.user.id)
	}
	return true
}

// scopeString is the scope list of an OAuth answer.
func (s scopeSet) String() string { return strings.Join(s.names(), " ") }
