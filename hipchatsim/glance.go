package hipchatsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// Add-on UI updates (seed 001 "Push addon ui update to a group / room / user / user in room"):
// POST /v2/addon/ui, …/ui/room/{room}, …/ui/user/{user} and …/ui/room/{room}/user/{user} with
// {"glance": [{"key", "content": {"label", "status", "metadata"}}]} → 204 (hipchat-go's and
// hipchat-hs's clients expect no content). A glance is the line an add-on shows in HipChat's room
// sidebar; an update replaces what the glance shows for everyone in the group, in one room, for one
// user, or for one user in one room.

// lozengeTypes are the lozenge styles a glance status may take (hipchat-hs's LozengeType: AUI's
// lozenges).
var lozengeTypes = []string{"default", "success", "error", "current", "new", "complete", "moved"}

// glanceScope says for whom an update applies.
type glanceScope string

const (
	glanceGroup      glanceScope = "group"
	glanceRoom       glanceScope = "room"
	glanceUser       glanceScope = "user"
	glanceUserInRoom glanceScope = "user_in_room"
)

// glanceTarget is where an update applies: a scope with its room and user (0 when not named).
type glanceTarget struct {
	scope  glanceScope
	room   int
	user   int
	client string // the add-on: glance keys are unique per add-on
	key    string
}

// glanceUpdate is the last content an add-on pushed for one glance and target.
type glanceUpdate struct {
	target  glanceTarget
	addon   *addonClient
	user    *user // for user scopes
	content json.RawMessage
	at      time.Time
}

// readGlances validates an add-on UI update body and returns each glance's key and content
// (compacted). Errors are 400s in HipChat's validator texts with the field's path.
func readGlances(f fields) (keys []string, contents []json.RawMessage, err error) {
	items, err := check(f).list("glance", 1)
	if err != nil {
		return nil, nil, err
	}
	for i, raw := range items {
		g, err := check(f).item("glance", i, raw)
		if err != nil {
			return nil, nil, err
		}
		key, _, err := g.str("key", true, 1, 40)
		if err != nil {
			return nil, nil, err
		}
		if err := checkGlanceContent(g); err != nil {
			return nil, nil, err
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, g.f["content"]) // it decoded as an object above
		keys, contents = append(keys, key), append(contents, compact.Bytes())
	}
	return keys, contents, nil
}

// checkGlanceContent checks a glance's content: label {"type": html or text, "value"} required,
// status optional {"type": "lozenge", "value": {"type": a lozenge, "label"}} or {"type": "icon",
// "value": {"url", "url@2x"}}, metadata an optional object; other keys are ignored.
func checkGlanceContent(g checker) error {
	content, _, err := g.object("content", true)
	if err != nil {
		return err
	}
	label, _, err := content.object("label", true)
	if err != nil {
		return err
	}
	if _, err := label.choice("type", "", "html", "text"); err != nil {
		return err
	}
	if _, _, err := label.str("value", true, 0, -1); err != nil {
		return err
	}
	if _, _, err := content.object("metadata", false); err != nil {
		return err
	}
	status, present, err := content.object("status", false)
	if err != nil || !present {
		return err
	}
	kind, err := status.choice("type", "", "lozenge", "icon")
	if err != nil {
		return err
	}
	value, _, err := status.object("value", true)
	if err != nil {
		return err
	}
	if kind == "icon" {
		if _, _, err := value.str("url", true, 1, -1); err != nil {
			return err
		}
		_, _, err = value.str("url@2x", true, 1, -1)
		return err
	}
	if _, err := value.choice("type", "", lozengeTypes...); err != nil {
		return err
	}
	_, _, err = value.str("label", true, 0, -1)
	return err
}

// handleAddonUI makes the handler of one add-on UI route: it resolves {room} and {user} as scope
// names them, validates the body and keeps each glance's content as the latest for its target.
func handleAddonUI(scope glanceScope) func(c *call) error {
	return func(c *call) error {
		f, err := readJSON(c.r, false)
		if err != nil {
			return err
		}
		keys, contents, err := readGlances(f)
		if err != nil {
			return err
		}
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		base := glanceTarget{scope: scope, client: c.tok.client.id}
		var who *user
		if scope == glanceRoom || scope == glanceUserInRoom {
			r, err := c.pathRoom()
			if err != nil {
				return err
			}
			base.room = r.id
		}
		if scope == glanceUser || scope == glanceUserInRoom {
			u, err := c.pathUser()
			if err != nil || u.deleted {
				return userNotFound(c.r.PathValue("user"))
			}
			base.user, who = u.id, u
		}
		for i, key := range keys {
			t := base
			t.key = key
			c.s.glances[t] = glanceUpdate{target: t, addon: c.tok.client, user: who, content: contents[i], at: c.now}
		}
		return c.noContent()
	}
}

// handleRoomGlances is GET /_sim/room/{room}/glances (side channel, no token): the latest update of
// every glance that applies to the room — pushed to the group, to the room, or to a user in the
// room — newest first: {"glances":[{"key","scope","addon":{"client_id","name"},"user","content",
// "updated"}]}. Updates for a user in every room are not the room's and are left out.
func (s *Server) handleRoomGlances(c *call) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	var applies []glanceUpdate
	for _, g := range s.glances {
		if g.target.scope == glanceGroup || ((g.target.scope == glanceRoom || g.target.scope == glanceUserInRoom) && g.target.room == r.id) {
			applies = append(applies, g)
		}
	}
	sort.Slice(applies, func(i, j int) bool {
		if !applies[i].at.Equal(applies[j].at) {
			return applies[i].at.After(applies[j].at)
		}
		if applies[i].target.key != applies[j].target.key {
			return applies[i].target.key < applies[j].target.key
		}
		return applies[i].target.scope < applies[j].target.scope
	})
	out := []any{}
	base := c.base()
	for _, g := range applies {
		var who any
		if g.user != nil {
			who = g.user.stub(base)
		}
		out = append(out, map[string]any{"key": g.target.key, "scope": g.target.scope,
			"addon": map[string]any{"client_id": g.addon.id, "name": g.addon.name}, "user": who,
			"content": g.content, "updated": g.at.UTC().Format(time.RFC3339Nano)})
	}
	return c.json(http.StatusOK, map[string]any{"glances": out})
}
