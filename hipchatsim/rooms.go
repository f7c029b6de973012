package hipchatsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// room is a HipChat room. Room ids are integers that increase from 1 in creation order and are never
// reused; the connector's OnNewRoom trigger relies on that to tell new rooms from old ones.
type room struct {
	id                      int
	name, privacy, topic    string
	owner                   *user
	archived, guestAccess   bool
	delegateAdminVisibility *bool
	created                 time.Time
	version                 string
	deleted                 bool
	members                 []member // private rooms, in the order they were added
	participants            []int    // user ids, in the order they entered
	webhooks                []*webhook
	hist                    *history
	authenticatedFiles      bool // shares are secure (authenticated_file), see Options.AuthenticatedFiles
}

// member is a member of a private room with its room roles (room_member, room_admin).
type member struct {
	userID int
	roles  []string
}

func (r *room) isMember(userID int) bool {
	return slices.ContainsFunc(r.members, func(m member) bool { return m.userID == userID })
}

func (r *room) addParticipant(userID int) {
	if !slices.Contains(r.participants, userID) {
		r.participants = append(r.participants, userID)
	}
}

func (r *room) selfURL(base string) string { return base + "/v2/room/" + strconv.Itoa(r.id) }

// addRoom gives r the next id and indexes it; callers hold s.mu or are constructing s.
func (s *Server) addRoom(r *room) {
	r.id = len(s.rooms) + 1
	if r.version == "" {
		r.version = s.version()
	}
	r.hist = newHistory()
	if r.owner != nil {
		if r.privacy == "private" {
			r.members = append(r.members, member{userID: r.owner.id, roles: []string{"room_member", "room_admin"}})
		}
		r.addParticipant(r.owner.id)
	}
	s.rooms = append(s.rooms, r)
	s.roomsByName[strings.ToLower(r.name)] = r
}

// findRoom resolves a path reference: an all-digit id, else the exact room name, compared without
// regard to case ([GAP] spec §1.8: HipChat's room JIDs are lower-case, so names differing only in
// case could not coexist). The mux has already percent-decoded the segment, and a "+" stays a "+"
// (spec: "+" does not match a space). Callers hold s.mu.
func (s *Server) findRoom(ref string) *room {
	var r *room
	if isDigits(ref) {
		id, err := strconv.Atoi(ref)
		if err == nil && id >= 1 && id <= len(s.rooms) {
			r = s.rooms[id-1]
		}
	} else {
		r = s.roomsByName[strings.ToLower(ref)]
	}
	if r == nil || r.deleted {
		return nil
	}
	return r
}

// roomNotFound is the later form of HipChat's 404 for rooms (spec §1.4: "Room <name> not found").
func roomNotFound(ref string) *apiError { return errorf(http.StatusNotFound, "Room %s not found", ref) }

// pathRoom resolves {room} for the calling token: rooms it may not see are not found either.
// Callers hold s.mu.
func (c *call) pathRoom() (*room, error) {
	ref := c.r.PathValue("room")
	r := c.s.findRoom(ref)
	if r == nil || (c.tok != nil && !c.tok.canSee(r)) {
		return nil, roomNotFound(ref)
	}
	return r, nil
}

// roomForRead resolves {room} under a read lock and returns it with its history.
func (c *call) roomHistory() (*room, *history, error) {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return nil, nil, err
	}
	return r, r.hist, nil
}

func (r *room) links(base string) map[string]any {
	self := r.selfURL(base)
	l := map[string]any{"self": self, "webhooks": self + "/webhook", "participants": self + "/participant"}
	if r.privacy == "private" {
		l["members"] = self + "/member"
	}
	return l
}

// listItem is a room as GET /v2/room lists it (spec §2.1).
func (r *room) listItem(base string) map[string]any {
	return map[string]any{"id": r.id, "is_archived": r.archived, "links": r.links(base), "name": r.name,
		"privacy": r.privacy, "version": r.version}
}

// fullRoom is GET /v2/room/{room} (spec §2.2).
func (s *Server) fullRoom(r *room, base string, expandParticipants bool) map[string]any {
	participants := []any{}
	for _, id := range r.participants {
		if u := s.users[id-1]; !u.deleted {
			if expandParticipants {
				participants = append(participants, s.fullUser(u, base))
			} else {
				participants = append(participants, u.stub(base))
			}
		}
	}
	var owner any
	if r.owner != nil {
		owner = r.owner.stub(base)
	}
	var guestURL any
	if r.guestAccess {
		guestURL = base + "/g/" + strings.ToLower(r.version)
	}
	var delegate any
	if r.delegateAdminVisibility != nil {
		delegate = *r.delegateAdminVisibility
	}
	_, lastActive := r.hist.stats()
	return map[string]any{
		"avatar_url":                nil,
		"created":                   formatSeconds(r.created),
		"delegate_admin_visibility": delegate,
		"guest_access_url":          guestURL,
		"id":                        r.id,
		"is_archived":               r.archived,
		"is_guest_accessible":       r.guestAccess,
		"last_active":               lastActive,
		"links":                     r.links(base),
		"name":                      r.name,
		"owner":                     owner,
		"participants":              participants,
		"privacy":                   r.privacy,
		"statistics":                map[string]any{"links": map[string]any{"self": r.selfURL(base) + "/statistics"}},
		"topic":                     r.topic,
		"version":                   r.version,
		"xmpp_jid":                  strconv.Itoa(groupID) + "_" + slug(r.name) + "@conf.hipchat.com",
	}
}

func slug(name string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' {
			return '_'
		}
		return r
	}, strings.ToLower(name))
}

// handleListRooms is GET /v2/room: include-private (default true), include-archived (default false),
// paged, expand=items for full rooms. Private rooms a user cannot access are left out.
func handleListRooms(c *call) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	withPrivate, err := queryBool(c.query, "include-private", true)
	if err != nil {
		return err
	}
	withArchived, err := queryBool(c.query, "include-archived", false)
	if err != nil {
		return err
	}
	expand := expands(c.query, "items")
	base := c.base()
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	var items []any
	for _, r := range c.s.rooms {
		if r.deleted || (r.archived && !withArchived) || (r.privacy == "private" && !withPrivate) || !c.tok.canSee(r) {
			continue
		}
		if expand {
			items = append(items, c.s.fullRoom(r, base, false))
		} else {
			items = append(items, r.listItem(base))
		}
	}
	return c.json(http.StatusOK, c.page(items, start, max))
}

// handleCreateRoom is POST /v2/room → 201 {"id","links":{"self"}} with Location. The owner is
// owner_user_id, else the token's user, else the group admin (add-on tokens have no user). privacy
// and owner_user_id sent as "" take their defaults.
func handleCreateRoom(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	name, _, err := f.str("name", true, 1, 50)
	if err != nil {
		return err
	}
	privacy, ok, err := f.optional("privacy", 1, 10)
	if err != nil {
		return err
	}
	if !ok {
		privacy = "public"
	} else if err := oneOf("privacy", privacy, "public", "private"); err != nil {
		return err
	}
	topic, _, err := f.str("topic", false, 0, 250)
	if err != nil {
		return err
	}
	guest, err := f.boolean("guest_access", false)
	if err != nil {
		return err
	}
	var delegate *bool
	if f.has("delegate_admin_visibility") {
		d, err := f.boolean("delegate_admin_visibility", false)
		if err != nil {
			return err
		}
		delegate = &d
	}
	ownerRef, hasOwner, err := f.idOrString("owner_user_id")
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	owner := c.tok.user
	if hasOwner {
		if owner = c.s.findUser(ownerRef); owner == nil || owner.deleted {
			return invalid("owner_user_id", "exists", ownerRef, "User %s not found", ownerRef)
		}
	} else if owner == nil {
		owner = c.s.users[0]
	}
	if c.s.roomsByName[strings.ToLower(name)] != nil {
		return invalid("name", "unique", name, "Another room exists with that name.")
	}
	r := &room{name: name, privacy: privacy, topic: topic, owner: owner, guestAccess: guest,
		delegateAdminVisibility: delegate, created: c.now}
	c.s.addRoom(r)
	self := r.selfURL(c.base())
	c.w.Header().Set("Location", self)
	return c.json(http.StatusCreated, map[string]any{"id": r.id, "links": map[string]any{"self": self}})
}

func handleGetRoom(c *call) error {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, c.s.fullRoom(r, c.base(), expands(c.query, "participants")))
}

// handleUpdateRoom is PUT /v2/room/{room} → 204. HipChat wanted every field; the emulator takes any
// subset (name, privacy, is_archived, is_guest_accessible, topic, owner {"id"} or owner_user_id,
// delegate_admin_visibility) and keeps the rest, so {"is_archived": true} archives a room. name,
// privacy and owner sent as "" are kept as well; a topic of "" clears the topic.
func handleUpdateRoom(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	name, hasName, err := f.optional("name", 1, 50)
	if err != nil {
		return err
	}
	privacy, hasPrivacy, err := f.optional("privacy", 1, 10)
	if err != nil {
		return err
	}
	if hasPrivacy {
		if err := oneOf("privacy", privacy, "public", "private"); err != nil {
			return err
		}
	}
	topic, hasTopic, err := f.str("topic", false, 0, 250)
	if err != nil {
		return err
	}
	archived, err := f.boolean("is_archived", false)
	if err != nil {
		return err
	}
	guest, err := f.boolean("is_guest_accessible", false)
	if err != nil {
		return err
	}
	delegate, err := f.boolean("delegate_admin_visibility", false)
	if err != nil {
		return err
	}
	ownerRef, hasOwner, err := f.idOrString("owner_user_id")
	if err != nil {
		return err
	}
	if f.has("owner") {
		var o fields
		if err := jsonInto(f["owner"], &o); err != nil {
			return invalid("owner", "type", nil, "Field 'owner' must be an object with an id")
		}
		if ownerRef, hasOwner, err = o.idOrString("id"); err != nil {
			return err
		}
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	if hasName && !strings.EqualFold(name, r.name) {
		if c.s.roomsByName[strings.ToLower(name)] != nil {
			return invalid("name", "unique", name, "Another room exists with that name.")
		}
	}
	var owner *user
	if hasOwner {
		if owner = c.s.findUser(ownerRef); owner == nil || owner.deleted {
			return invalid("owner", "exists", ownerRef, "User %s not found", ownerRef)
		}
	}
	if hasName {
		delete(c.s.roomsByName, strings.ToLower(r.name))
		r.name = name
		c.s.roomsByName[strings.ToLower(name)] = r
	}
	if hasPrivacy {
		r.privacy = privacy
		if privacy == "private" && r.owner != nil && !r.isMember(r.owner.id) {
			r.members = append(r.members, member{userID: r.owner.id, roles: []string{"room_member", "room_admin"}})
		}
	}
	if hasTopic && topic != r.topic {
		r.topic = topic
		c.emitRoom(r, "room_topic_change", map[string]any{"topic": topic}, c.tok.user)
	}
	if f.has("is_archived") && archived != r.archived {
		r.archived = archived
		if archived {
			c.emitRoom(r, "room_archived", nil, c.tok.user)
		} else {
			c.emitRoom(r, "room_unarchived", nil, c.tok.user)
		}
	}
	if f.has("is_guest_accessible") {
		r.guestAccess = guest
	}
	if f.has("delegate_admin_visibility") {
		r.delegateAdminVisibility = &delegate
	}
	if owner != nil {
		r.owner = owner
	}
	r.version = c.s.version()
	return c.noContent()
}

// handleDeleteRoom is DELETE /v2/room/{room} → 204: the room's webhooks get room_deleted, then the
// room, its history and its webhooks are gone; its id is not reused and its name is free again.
func handleDeleteRoom(c *call) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	c.emitRoom(r, "room_deleted", nil, c.tok.user)
	r.deleted = true
	delete(c.s.roomsByName, strings.ToLower(r.name))
	return c.noContent()
}

// handleStatistics is GET /v2/room/{room}/statistics: {"messages_sent","last_active","links"}.
func handleStatistics(c *call) error {
	r, h, err := c.roomHistory()
	if err != nil {
		return err
	}
	sent, lastActive := h.stats()
	return c.json(http.StatusOK, map[string]any{"messages_sent": sent, "last_active": lastActive,
		"links": map[string]any{"self": r.selfURL(c.base()) + "/statistics"}})
}

// handleListMembers is GET /v2/room/{room}/member: members of a private room with their room_roles.
// A public room answers 400 ([GAP] spec §2.3: only the DELETE text was captured; this one is
// [INFERRED] by analogy).
func handleListMembers(c *call) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	base := c.base()
	expand := expands(c.query, "items")
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	if r.privacy != "private" {
		return errPublicMemberList
	}
	var items []any
	for _, m := range r.members {
		u := c.s.users[m.userID-1]
		if u.deleted {
			continue
		}
		var item map[string]any
		if expand {
			item = c.s.fullUser(u, base)
		} else {
			item = u.stub(base)
		}
		item["room_roles"] = m.roles
		items = append(items, item)
	}
	return c.json(http.StatusOK, c.page(items, start, max))
}

// handleAddMember is PUT /v2/room/{room}/member/{user} with an optional {"room_roles": [...]} → 204.
// Adding a member again only updates the roles. A public room answers 400 ([INFERRED], spec §2.5).
func handleAddMember(c *call) error {
	f, err := readJSON(c.r, true)
	if err != nil {
		return err
	}
	roles, err := f.strings("room_roles")
	if err != nil {
		return err
	}
	for _, role := range roles {
		if err := oneOf("room_roles", role, "room_member", "room_admin"); err != nil {
			return err
		}
	}
	if len(roles) == 0 {
		roles = []string{"room_member"}
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	if r.privacy != "private" {
		return errPublicMemberAdd
	}
	for i := range r.members {
		if r.members[i].userID == u.id {
			r.members[i].roles = roles
			return c.noContent()
		}
	}
	r.members = append(r.members, member{userID: u.id, roles: roles})
	return c.noContent()
}

// handleRemoveMember is DELETE /v2/room/{room}/member/{user} → 204, also when the user was not a
// member. A participant leaves the room (room_exit). A public room answers HipChat's captured 400.
func handleRemoveMember(c *call) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	if r.privacy != "private" {
		return errPublicMemberDel
	}
	r.members = slices.DeleteFunc(r.members, func(m member) bool { return m.userID == u.id })
	if slices.Contains(r.participants, u.id) {
		r.participants = slices.DeleteFunc(r.participants, func(id int) bool { return id == u.id })
		c.emitRoom(r, "room_exit", nil, u)
	}
	return c.noContent()
}

// handleListParticipants is GET /v2/room/{room}/participant. The emulator has no XMPP presence, so
// its participants ([GAP]) are the people who entered the room through the API: the creator, anyone
// invited, and anyone who posted, shared or set the topic there. Everyone counts as online, so
// include-offline changes nothing.
func handleListParticipants(c *call) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	if _, err := queryBool(c.query, "include-offline", false); err != nil {
		return err
	}
	base := c.base()
	expand := expands(c.query, "items")
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	var items []any
	for _, id := range r.participants {
		u := c.s.users[id-1]
		if u.deleted {
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

// handleInvite is POST /v2/room/{room}/invite/{user} with an optional {"reason"} → 204: the user
// enters the public room (room_enter, with the invited user as sender). Private rooms take members instead ([INFERRED] 400).
func handleInvite(c *call) error {
	f, err := readJSON(c.r, true)
	if err != nil {
		return err
	}
	if _, _, err := f.str("reason", false, 0, 250); err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	u, err := c.pathUser()
	if err != nil {
		return err
	}
	if r.privacy == "private" {
		return errorf(http.StatusBadRequest, "Can only invite users to public rooms")
	}
	if !slices.Contains(r.participants, u.id) {
		r.addParticipant(u.id)
		c.emitRoom(r, "room_enter", nil, u)
	}
	return c.noContent()
}
