package hipchatsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// user is a HipChat user. Ids increase from 1 (the group admin) in creation order.
type user struct {
	id                   int
	name, email, mention string
	title, timezone      string
	admin, deleted       bool
	password             [32]byte // SHA-256; zero when the user has no password
	hasPassword          bool
	created              time.Time
	lastActive           atomic.Int64 // Unix seconds of the last post
	version              string
	photo                string // file id, "" for none
	presenceShow         string // "" = offline (presence null)
	presenceStatus       string
}

// groupID and groupName describe the one group the emulator hosts.
const (
	groupID   = 1
	groupName = "HipChat Emulator"
)

// addUser gives u the next id and indexes it; callers hold s.mu or are constructing s.
func (s *Server) addUser(u *user) {
	u.id = len(s.users) + 1
	if u.version == "" {
		u.version = s.version()
	}
	if u.lastActive.Load() == 0 {
		u.lastActive.Store(u.created.Unix())
	}
	s.users = append(s.users, u)
	s.byEmail[strings.ToLower(u.email)] = u
	s.byMention[strings.ToLower(u.mention)] = u
}

func (u *user) setPassword(p string) {
	u.password = sha256.Sum256([]byte(p))
	u.hasPassword = p != ""
}

func (u *user) checkPassword(p string) bool {
	sum := sha256.Sum256([]byte(p))
	return u.hasPassword && subtle.ConstantTimeCompare(sum[:], u.password[:]) == 1
}

// findUser resolves a path or body reference: an all-digit id, an @mention name, or an email (both
// case-insensitive; spec §1.8). Deleted users are found by id only. Callers hold s.mu.
func (s *Server) findUser(ref string) *user {
	if ref == "" {
		return nil
	}
	if isDigits(ref) {
		id, err := strconv.Atoi(ref)
		if err != nil || id < 1 || id > len(s.users) {
			return nil
		}
		return s.users[id-1]
	}
	var u *user
	if strings.HasPrefix(ref, "@") {
		u = s.byMention[strings.ToLower(ref[1:])]
	} else {
		u = s.byEmail[strings.ToLower(ref)]
	}
	if u == nil || u.deleted {
		return nil
	}
	return u
}

// userNotFound is the 404 for an unknown user. The real text was not captured (spec §6.5); this
// follows the later "Room <name> not found" pattern [INFERRED].
func userNotFound(ref string) *apiError {
	return errorf(http.StatusNotFound, "User %s not found", ref)
}

// pathUser resolves the {user} path value; callers hold s.mu.
func (c *call) pathUser() (*user, error) {
	ref := c.r.PathValue("user")
	u := c.s.findUser(ref)
	if u == nil {
		return nil, userNotFound(ref)
	}
	return u, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (u *user) selfURL(base string) string { return base + "/v2/user/" + strconv.Itoa(u.id) }

// stub is the short user object of lists, members and message authors.
func (u *user) stub(base string) map[string]any {
	return map[string]any{"id": u.id, "links": map[string]any{"self": u.selfURL(base)},
		"mention_name": u.mention, "name": u.name, "version": u.version}
}

// full is GET /v2/user/{id} (spec §2.10).
func (s *Server) fullUser(u *user, base string) map[string]any {
	var photo any
	if u.photo != "" {
		if f := s.files[u.photo]; f != nil {
			photo = f.url(base)
		}
	}
	var presence any
	if u.presenceShow != "" {
		var status any
		if u.presenceStatus != "" {
			status = u.presenceStatus
		}
		presence = map[string]any{"client": map[string]any{"type": "http://hipchat.com/client/emulator", "version": "1"},
			"idle": 0, "is_online": true, "show": u.presenceShow, "status": status}
	}
	return map[string]any{
		"created":        formatSeconds(u.created),
		"email":          u.email,
		"group":          map[string]any{"id": groupID, "links": map[string]any{"self": base + "/v2/group/1"}, "name": groupName},
		"id":             u.id,
		"is_deleted":     u.deleted,
		"is_group_admin": u.admin,
		"is_guest":       false,
		"last_active":    strconv.FormatInt(u.lastActive.Load(), 10),
		"links":          map[string]any{"self": u.selfURL(base)},
		"mention_name":   u.mention,
		"name":           u.name,
		"photo_url":      photo,
		"presence":       presence,
		"roles":          roles(u),
		"timezone":       u.timezone,
		"title":          u.title,
		"version":        u.version,
		"xmpp_jid":       strconv.Itoa(groupID) + "_" + strconv.Itoa(u.id) + "@chat.hipchat.com",
	}
}

func roles(u *user) []string {
	if u.admin {
		return []string{"admin", "user"}
	}
	return []string{"user"}
}

// formatSeconds is the date format of room and user objects: "2015-12-29T19:50:02+00:00".
func formatSeconds(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-07:00") }

// handleListUsers is GET /v2/user: start-index, max-results, include-guests (the emulator has no
// guests), include-deleted, expand=items.
func handleListUsers(c *call) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	if _, err := queryBool(c.query, "include-guests", false); err != nil {
		return err
	}
	withDeleted, err := queryBool(c.query, "include-deleted", false)
	if err != nil {
		return err
	}
	expand := expands(c.query, "items")
	base := c.base()
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	var items []any
	for _, u := range c.s.users {
		if u.deleted && !withDeleted {
			continue
		}
		if expand {
			items = append(items, c.s.fullUser(u, base))
		} else {
			items = append(items, u.stub(base))
		}
	}
	return c.json(http.StatusOK, c.page(items, start, max))
}

// userInput is the validated body of POST and PUT /v2/user.
type userInput struct {
	name, email, mention, title, timezone, password string
	admin                                           bool
	has                                             map[string]bool
}

func readUserInput(f fields, create bool) (userInput, error) {
	in := userInput{has: map[string]bool{}}
	var err error
	var ok bool
	if create {
		in.name, ok, err = f.str("name", true, 1, 50)
	} else {
		in.name, ok, err = f.optional("name", 1, 50)
	}
	if err != nil {
		return in, err
	}
	in.has["name"] = ok
	if create {
		in.email, ok, err = f.str("email", true, 1, 255)
	} else {
		in.email, ok, err = f.optional("email", 1, 255)
	}
	if err != nil {
		return in, err
	}
	if ok && (!strings.Contains(in.email, "@") || strings.HasPrefix(in.email, "@")) {
		return in, invalid("email", "format", in.email, "Field 'email' must be an email address")
	}
	in.has["email"] = ok
	if in.mention, ok, err = f.optional("mention_name", 1, 50); err != nil {
		return in, err
	}
	if ok && strings.ContainsAny(in.mention, " @,") {
		return in, invalid("mention_name", "format", in.mention, "Field 'mention_name' cannot contain spaces, commas or @")
	}
	in.has["mention_name"] = ok
	if in.title, ok, err = f.str("title", false, 0, 50); err != nil {
		return in, err
	}
	in.has["title"] = ok
	if in.timezone, ok, err = f.optional("timezone", 1, 100); err != nil {
		return in, err
	}
	if ok {
		if _, err := loadLocation(in.timezone); err != nil {
			return in, invalid("timezone", "choice", in.timezone, "Field 'timezone' must be a supported timezone name")
		}
	}
	in.has["timezone"] = ok
	if in.password, ok, err = f.optional("password", 1, 255); err != nil {
		return in, err
	}
	in.has["password"] = ok
	if in.admin, err = f.boolean("is_group_admin", false); err != nil {
		return in, err
	}
	in.has["is_group_admin"] = f.has("is_group_admin")
	if _, err := f.strings("roles"); err != nil {
		return in, err
	}
	return in, nil
}

// defaultMention derives a mention name from a full name, as HipChat suggested one: the name without
// spaces.
func defaultMention(name string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '@' || r == ',' {
			return -1
		}
		return r
	}, name)
}

// handleCreateUser is POST /v2/user → 201 {"id","links":{"self"}}. The password, when given, lets
// the user get tokens with grant_type=password or personal; "password": "" makes HipChat generate
// one, which nobody learns here. Optional fields sent as "" (mention_name, timezone, title) take their
// defaults.
func handleCreateUser(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	in, err := readUserInput(f, true)
	if err != nil {
		return err
	}
	if !in.has["mention_name"] {
		in.mention = defaultMention(in.name)
	}
	if !in.has["timezone"] {
		in.timezone = "UTC"
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if err := c.s.checkUnique(nil, in.email, in.mention); err != nil {
		return err
	}
	u := &user{name: in.name, email: in.email, mention: in.mention, title: in.title, timezone: in.timezone,
		admin: in.admin, created: c.now}
	if in.has["password"] {
		u.setPassword(in.password)
	} else if f.has("password") {
		u.setPassword(randomToken()) // "password": "": HipChat generated one (and mailed it)
	}
	c.s.addUser(u)
	self := u.selfURL(c.base())
	c.w.Header().Set("Location", self)
	return c.json(http.StatusCreated, map[string]any{"id": u.id, "links": map[string]any{"self": self}})
}

// checkUnique rejects an email or mention name another live user has; callers hold s.mu.
func (s *Server) checkUnique(self *user, email, mention string) error {
	if o := s.byEmail[strings.ToLower(email)]; email != "" && o != nil && o != self && !o.deleted {
		return invalid("email", "unique", email, "Another user exists with that email address.")
	}
	if o := s.byMention[strings.ToLower(mention)]; mention != "" && o != nil && o != self && !o.deleted {
		return invalid("mention_name", "unique", mention, "Another user exists with that mention name.")
	}
	return nil
}

func handleGetUser(c *call) error {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, c.s.fullUser(u, c.base()))
}

// handleUpdateUser is PUT /v2/user/{user} → 204. HipChat wanted the whole user; the emulator also
// takes a partial body and keeps the fields it does not name. A field sent as "" (name, email,
// mention_name, timezone, password) is kept too: clients send "password": "" to keep the password. presence {show, status} sets presence.
func handleUpdateUser(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	in, err := readUserInput(f, false)
	if err != nil {
		return err
	}
	var show, status string
	if f.has("presence") {
		var p fields
		if err := jsonInto(f["presence"], &p); err != nil {
			return invalid("presence", "type", nil, "Field 'presence' must be an object")
		}
		if show, _, err = p.str("show", false, 0, 10); err != nil {
			return err
		}
		if show != "" {
			if err := oneOf("presence.show", show, "away", "chat", "dnd", "xa"); err != nil {
				return err
			}
		}
		if status, _, err = p.str("status", false, 0, 255); err != nil {
			return err
		}
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	if u.deleted {
		return userNotFound(c.r.PathValue("user"))
	}
	if err := c.s.checkUnique(u, in.email, in.mention); err != nil {
		return err
	}
	if in.has["email"] {
		delete(c.s.byEmail, strings.ToLower(u.email))
		u.email = in.email
		c.s.byEmail[strings.ToLower(u.email)] = u
	}
	if in.has["mention_name"] {
		delete(c.s.byMention, strings.ToLower(u.mention))
		u.mention = in.mention
		c.s.byMention[strings.ToLower(u.mention)] = u
	}
	if in.has["name"] {
		u.name = in.name
	}
	if in.has["title"] {
		u.title = in.title
	}
	if in.has["timezone"] {
		u.timezone = in.timezone
	}
	if in.has["password"] {
		u.setPassword(in.password)
	}
	if in.has["is_group_admin"] {
		u.admin = in.admin
	}
	if f.has("presence") {
		u.presenceShow, u.presenceStatus = show, status
	}
	u.version = c.s.version()
	return c.noContent()
}

// handleDeleteUser is DELETE /v2/user/{user} → 204. The user stays visible by id with
// is_deleted:true and with include-deleted=true; its tokens stop working.
func handleDeleteUser(c *call) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	if u.deleted {
		return userNotFound(c.r.PathValue("user"))
	}
	if u.id == 1 {
		return errorf(http.StatusBadRequest, "The group owner cannot be deleted")
	}
	u.deleted = true
	u.version = c.s.version()
	return c.noContent()
}

// handleUpdatePhoto is PUT /v2/user/{user}/photo {"photo": base64} → 204.
func handleUpdatePhoto(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	encoded, _, err := f.str("photo", true, 1, maxJSONBody)
	if err != nil {
		return err
	}
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return invalid("photo", "format", nil, "Field 'photo' must be a base64-encoded image")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	f2 := c.s.storeFile("photo.png", http.DetectContentType(data), data)
	u.photo = f2.id
	u.version = c.s.version()
	return c.noContent()
}

func handleDeletePhoto(c *call) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	u.photo = ""
	u.version = c.s.version()
	return c.noContent()
}

// handleGetPhoto is GET /v2/user/{user}/photo/{size} (small or big): a redirect to the photo, which
// the emulator serves under /_sim/files/; 404 when the user has none.
func handleGetPhoto(c *call) error {
	if err := oneOf("size", c.r.PathValue("size"), "small", "big"); err != nil {
		return err
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	f := c.s.files[u.photo]
	if f == nil {
		return errorf(http.StatusNotFound, "Photo not found")
	}
	http.Redirect(c.w, c.r, f.url(c.base()), http.StatusFound)
	return nil
}
