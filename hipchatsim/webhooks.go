package hipchatsim

import (
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// webhook is a room webhook; webhookcalls.go calls it when its event happens in its room.
type webhook struct {
	id                        int
	name, url, event, pattern string
	authentication, key       string
	re                        *regexp.Regexp // pattern compiled; nil without one
	creator                   *user          // who registered it (nil for add-ons)
	client                    *addonClient   // the add-on installation that registered it, if one did
}

var webhookEvents = []string{"room_archived", "room_created", "room_deleted", "room_enter", "room_exit",
	"room_file_upload", "room_message", "room_notification", "room_topic_change", "room_unarchived"}

func (w *webhook) json(r *room, base string) map[string]any {
	var pattern, creator any
	if w.pattern != "" {
		pattern = w.pattern
	}
	if w.creator != nil {
		creator = w.creator.stub(base)
	}
	return map[string]any{"authentication": w.authentication, "creator": creator, "event": w.event,
		"id": w.id, "key": w.key, "links": map[string]any{"self": r.selfURL(base) + "/webhook/" + strconv.Itoa(w.id)},
		"name": w.name, "pattern": pattern, "room": map[string]any{"id": r.id, "links": map[string]any{"self": r.selfURL(base)}, "name": r.name},
		"url": w.url}
}

// handleCreateWebhook is POST /v2/room/{room}/webhook → 201 {"id","links":{"self"}} with Location.
// url must be absolute (HipChat's captured 400 "Field url must be an absolute URL") and not an
// address the outbound guard refuses, event one of HipChat's room events, pattern a valid regular
// expression (room_message only), authentication jwt or none (default). jwt needs an add-on token:
// the calls are signed with that add-on's OAuth secret. Each bad field is a 400 naming it.
func handleCreateWebhook(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	w := &webhook{}
	if w.url, _, err = f.str("url", true, 1, 2048); err != nil {
		return err
	}
	u, err := url.Parse(w.url)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return invalid("url", "format", w.url, "Field url must be an absolute URL")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && refusedAddr(ip) {
		return invalid("url", "address", w.url, "Field url names an address the emulator does not call (link-local, multicast or unspecified)")
	}
	if w.event, _, err = f.str("event", true, 1, 50); err != nil {
		return err
	}
	if err := oneOf("event", w.event, webhookEvents...); err != nil {
		return err
	}
	if w.name, _, err = f.str("name", false, 0, 100); err != nil {
		return err
	}
	if w.key, _, err = f.str("key", false, 0, 40); err != nil {
		return err
	}
	if w.pattern, _, err = f.str("pattern", false, 0, 512); err != nil {
		return err
	}
	if w.pattern != "" {
		if w.event != "room_message" {
			return invalid("pattern", "event", w.pattern, "Field pattern applies to room_message webhooks only")
		}
		if w.re, err = regexp.Compile(w.pattern); err != nil {
			return invalid("pattern", "format", w.pattern, "Field pattern must be a valid regular expression")
		}
	}
	auth, ok, err := f.optional("authentication", 1, 10)
	if err != nil {
		return err
	}
	if !ok {
		auth = "none"
	} else if err := oneOf("authentication", auth, "jwt", "none"); err != nil {
		return err
	}
	w.authentication = auth
	w.client = c.tok.client
	if auth == "jwt" && w.client == nil {
		return invalid("authentication", "token", auth, "Field authentication jwt needs an add-on token: calls are signed with the add-on's OAuth secret")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	c.s.webhookSeq++
	w.id = c.s.webhookSeq
	w.creator = c.tok.user
	r.webhooks = append(r.webhooks, w)
	self := r.selfURL(c.base()) + "/webhook/" + strconv.Itoa(w.id)
	c.w.Header().Set("Location", self)
	return c.json(http.StatusCreated, map[string]any{"id": w.id, "links": map[string]any{"self": self}})
}

// handleListWebhooks is GET /v2/room/{room}/webhook: the room's webhooks, paged, each as GET
// …/webhook/{id} shows it.
func handleListWebhooks(c *call) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	base := c.base()
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	var items []any
	for _, w := range r.webhooks {
		items = append(items, w.json(r, base)) // every field it was created with, pattern included
	}
	return c.json(http.StatusOK, c.page(items, start, max))
}

// pathWebhook resolves {id} (the webhook id, or its key) in the room; callers hold s.mu.
func (c *call) pathWebhook(r *room) (int, error) {
	ref := c.r.PathValue("id")
	for i, w := range r.webhooks {
		if strconv.Itoa(w.id) == ref || (w.key != "" && w.key == ref) {
			return i, nil
		}
	}
	return -1, errorf(http.StatusNotFound, "Webhook %s not found", ref)
}

func handleGetWebhook(c *call) error {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	i, err := c.pathWebhook(r)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, r.webhooks[i].json(r, c.base()))
}

func handleDeleteWebhook(c *call) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	r, err := c.pathRoom()
	if err != nil {
		return err
	}
	i, err := c.pathWebhook(r)
	if err != nil {
		return err
	}
	r.webhooks = slices.Delete(r.webhooks, i, i+1)
	return c.noContent()
}
