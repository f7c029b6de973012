package hipchatsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// Fixtures is seed data for a new Server: users (after the group admin, who is always user 1),
// add-on OAuth clients, and rooms with members and messages. LoadFixtures reads it from JSON; the
// package documentation shows the format.
type Fixtures struct {
	Users  []FixtureUser  `json:"users"`
	Addons []FixtureAddon `json:"addons"`
	Rooms  []FixtureRoom  `json:"rooms"`
}

// FixtureUser is a user; ids follow the order of the list, from 2.
type FixtureUser struct {
	Name         string         `json:"name"`
	Email        string         `json:"email"`
	MentionName  string         `json:"mention_name"` // default: the name without spaces
	Title        string         `json:"title"`
	Timezone     string         `json:"timezone"` // default UTC
	Password     string         `json:"password"` // enables grant_type=password and personal
	IsGroupAdmin bool           `json:"is_group_admin"`
	Tokens       []FixtureToken `json:"tokens"` // personal access tokens with fixed values
}

// FixtureToken is a token with a fixed value; no scopes means every scope (for room notification
// tokens: send_notification).
type FixtureToken struct {
	Token  string   `json:"token"`
	Scopes []string `json:"scopes"`
	Label  string   `json:"label"` // room notification tokens: the from of their notifications
}

// FixtureAddon is an add-on's OAuth client for grant_type=client_credentials.
type FixtureAddon struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Name         string   `json:"name"`
	Scopes       []string `json:"scopes"` // no scopes means every scope
}

// FixtureRoom is a room; ids follow the order of the list, from 1. Users are named by email or
// @mention name.
type FixtureRoom struct {
	Name               string         `json:"name"`
	Privacy            string         `json:"privacy"` // public (default) or private
	Topic              string         `json:"topic"`
	Owner              string         `json:"owner"` // default: the group admin
	IsArchived         bool           `json:"is_archived"`
	Created            string         `json:"created"` // RFC 3339; default: now
	Members            []string       `json:"members"` // private rooms (the owner is always one)
	Participants       []string       `json:"participants"`
	NotificationTokens []FixtureToken `json:"notification_tokens"`
	AuthenticatedFiles bool           `json:"authenticated_files"` // its file shares are authenticated_file

	Messages []FixtureMessage `json:"messages"`
}

// FixtureMessage is a history item: a user message when From names a user, else a notification
// whose from is Label.
type FixtureMessage struct {
	ID            string       `json:"id"`   // default: a new UUID
	Date          string       `json:"date"` // RFC 3339 with any precision; default: now
	From          string       `json:"from"` // email or @mention of the author
	Label         string       `json:"label"`
	Message       string       `json:"message"`
	MessageFormat string       `json:"message_format"` // notifications; default html
	Color         string       `json:"color"`          // notifications; default yellow
	File          *FixtureFile `json:"file"`
	Deleted       bool         `json:"deleted"`
}

// FixtureFile is a shared file: Content as text or ContentBase64 as bytes.
type FixtureFile struct {
	Name          string `json:"name"`
	ContentType   string `json:"content_type"` // default: from the name or content
	Content       string `json:"content"`
	ContentBase64 string `json:"content_base64"`
}

// LoadFixtures reads a fixtures JSON file. Unknown keys are an error, so that a typo does not silently
// drop data. New reports inconsistencies (unknown users, duplicate names).
func LoadFixtures(path string) (*Fixtures, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the operator's own -fixtures file
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fixtures
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// load adds the fixtures to a Server under construction.
func (s *Server) load(f *Fixtures) error {
	now := s.now()
	for i, fu := range f.Users {
		at := fmt.Sprintf("users[%d]", i)
		if fu.Name == "" || fu.Email == "" || !strings.Contains(fu.Email, "@") {
			return fmt.Errorf("%s: name and email are required", at)
		}
		mention := fu.MentionName
		if mention == "" {
			mention = defaultMention(fu.Name)
		}
		if err := s.checkUnique(nil, fu.Email, mention); err != nil {
			return fmt.Errorf("%s: %s", at, err.(*apiError).message)
		}
		tz := fu.Timezone
		if tz == "" {
			tz = "UTC"
		} else if _, err := loadLocation(tz); err != nil {
			return fmt.Errorf("%s: unknown timezone %q", at, tz)
		}
		u := &user{name: fu.Name, email: fu.Email, mention: mention, title: fu.Title, timezone: tz,
			admin: fu.IsGroupAdmin, created: now}
		u.setPassword(fu.Password)
		s.addUser(u)
		for j, ft := range fu.Tokens {
			t, err := s.fixtureToken(ft, fmt.Sprintf("%s.tokens[%d]", at, j), allScopes)
			if err != nil {
				return err
			}
			t.kind, t.user, t.created = kindPersonal, u, now
			s.addToken(t)
		}
	}
	for i, fa := range f.Addons {
		at := fmt.Sprintf("addons[%d]", i)
		if fa.ClientID == "" || fa.ClientSecret == "" || s.clients[fa.ClientID] != nil {
			return fmt.Errorf("%s: a unique client_id and a client_secret are required", at)
		}
		scopes, err := parseScopes("scopes", fa.Scopes)
		if err != nil {
			return fmt.Errorf("%s: %s", at, err.(*apiError).message)
		}
		if len(fa.Scopes) == 0 {
			scopes = allScopes
		}
		name := fa.Name
		if name == "" {
			name = fa.ClientID
		}
		s.clients[fa.ClientID] = &addonClient{id: fa.ClientID, secret: fa.ClientSecret, name: name, scopes: scopes}
	}
	for i, fr := range f.Rooms {
		if err := s.loadRoom(fr, fmt.Sprintf("rooms[%d]", i), now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) fixtureToken(ft FixtureToken, at string, def scopeSet) (*token, error) {
	if ft.Token == "" || s.tokens[ft.Token] != nil {
		return nil, fmt.Errorf("%s: a unique token is required", at)
	}
	scopes, err := parseScopes("scopes", ft.Scopes)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", at, err.(*apiError).message)
	}
	if len(ft.Scopes) == 0 {
		scopes = def
	}
	return &token{value: ft.Token, scopes: scopes, label: ft.Label}, nil
}

func (s *Server) fixtureUser(ref, at string) (*user, error) {
	u := s.findUser(ref)
	if u == nil {
		return nil, fmt.Errorf("%s: unknown user %q", at, ref)
	}
	return u, nil
}

func (s *Server) loadRoom(fr FixtureRoom, at string, now time.Time) error {
	if fr.Name == "" || len([]rune(fr.Name)) > 50 {
		return fmt.Errorf("%s: name must be 1 to 50 characters", at)
	}
	if s.roomsByName[strings.ToLower(fr.Name)] != nil {
		return fmt.Errorf("%s: another room is named %q", at, fr.Name)
	}
	privacy := fr.Privacy
	if privacy == "" {
		privacy = "public"
	} else if privacy != "public" && privacy != "private" {
		return fmt.Errorf("%s.privacy: must be public or private", at)
	}
	owner := s.users[0]
	if fr.Owner != "" {
		var err error
		if owner, err = s.fixtureUser(fr.Owner, at+".owner"); err != nil {
			return err
		}
	}
	created := now
	if fr.Created != "" {
		t, err := time.Parse(time.RFC3339Nano, fr.Created)
		if err != nil {
			return fmt.Errorf("%s.created: %v", at, err)
		}
		created = t
	}
	r := &room{name: fr.Name, privacy: privacy, topic: fr.Topic, owner: owner, archived: fr.IsArchived, created: created,
		authenticatedFiles: fr.AuthenticatedFiles || s.opts.AuthenticatedFiles}
	s.addRoom(r)
	for j, ref := range fr.Members {
		u, err := s.fixtureUser(ref, fmt.Sprintf("%s.members[%d]", at, j))
		if err != nil {
			return err
		}
		if privacy != "private" {
			return fmt.Errorf("%s.members: only private rooms have members", at)
		}
		if !r.isMember(u.id) {
			r.members = append(r.members, member{userID: u.id, roles: []string{"room_member"}})
		}
	}
	for j, ref := range fr.Participants {
		u, err := s.fixtureUser(ref, fmt.Sprintf("%s.participants[%d]", at, j))
		if err != nil {
			return err
		}
		r.addParticipant(u.id)
	}
	for j, ft := range fr.NotificationTokens {
		t, err := s.fixtureToken(ft, fmt.Sprintf("%s.notification_tokens[%d]", at, j), scopeBit(scopeSendNotification))
		if err != nil {
			return err
		}
		if t.label == "" {
			t.label = r.name + " notifications"
		}
		t.kind, t.room, t.created = kindRoom, r, now
		s.addToken(t)
	}
	for j, fm := range fr.Messages {
		m, err := s.fixtureMessage(fm, fmt.Sprintf("%s.messages[%d]", at, j), r.hist, now, r.authenticatedFiles)
		if err != nil {
			return err
		}
		r.hist.add(m)
		if m.kind == "message" && fm.From != "" {
			u := s.findUser(fm.From)
			r.addParticipant(u.id)
		}
	}
	return nil
}

func (s *Server) fixtureMessage(fm FixtureMessage, at string, h *history, now time.Time, secure bool) (*message, error) {
	date := now
	if fm.Date != "" {
		t, err := time.Parse(time.RFC3339Nano, fm.Date)
		if err != nil {
			return nil, fmt.Errorf("%s.date: %v", at, err)
		}
		date = t
	}
	id := fm.ID
	if id == "" {
		id = s.newID()
	} else if h.byID[id] != nil {
		return nil, fmt.Errorf("%s.id: %q is used twice", at, id)
	}
	var p post
	if fm.From != "" {
		u, err := s.fixtureUser(fm.From, at+".from")
		if err != nil {
			return nil, err
		}
		author := stubOf(u)
		p = post{kind: "message", from: &author, text: fm.Message, mentions: s.mentionsIn(fm.Message)}
	} else {
		if fm.Label == "" {
			return nil, fmt.Errorf("%s: from (a user) or label (a notification) is required", at)
		}
		format, color := fm.MessageFormat, fm.Color
		if format == "" {
			format = "html"
		}
		if color == "" {
			color = "yellow"
		}
		p = post{kind: "notification", label: fm.Label, text: fm.Message, format: format, color: &color}
	}
	if ff := fm.File; ff != nil {
		data := []byte(ff.Content)
		if ff.ContentBase64 != "" {
			var err error
			if data, err = base64.StdEncoding.DecodeString(ff.ContentBase64); err != nil {
				return nil, fmt.Errorf("%s.file.content_base64: %v", at, err)
			}
		}
		if ff.Name == "" {
			return nil, fmt.Errorf("%s.file.name is required", at)
		}
		ct := ff.ContentType
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		p.file = s.storeFile(ff.Name, ct, data)
		if secure {
			p.fileID = s.newID()
		}
	}
	m := newMessage(id, s.seq.Add(1), date, p)
	m.deleted = fm.Deleted
	return m, nil
}
