package hipchatsim

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// errArchived answers a message sent to an archived room ([INFERRED]: HipChat refused them; the text
// was not captured).
var errArchived = errorf(http.StatusBadRequest, "This room has been archived")

// mentionPattern finds @mention names in a message: an @ at the start or after a character that is
// not part of a word, so that the domain of an email address (bob@example.com) is not a mention of
// a user named "example" (the spec says nothing of HipChat's parsing; a careful reader of the room
// would not take it for one).
var mentionPattern = regexp.MustCompile(`(?:^|[^\w@.])@(\w+)`)

// mentionsIn returns the users an @mention in text names, once each; callers hold s.mu.
func (s *Server) mentionsIn(text string) []userStub {
	var out []userStub
	seen := map[int]bool{}
	for _, m := range mentionPattern.FindAllStringSubmatch(text, -1) {
		if u := s.byMention[strings.ToLower(m[1])]; u != nil && !u.deleted && !seen[u.id] {
			seen[u.id] = true
			out = append(out, stubOf(u))
		}
	}
	return out
}

// target is where a message goes: a room or a private chat, resolved under s.mu.
type target struct {
	room  *room // nil for private chats
	hist  *history
	flood string
}

// roomTarget resolves {room} for sending: an archived room refuses messages.
func (c *call) roomTarget() (target, error) {
	r, err := c.pathRoom()
	if err != nil {
		return target{}, err
	}
	if r.archived {
		return target{}, errArchived
	}
	return target{room: r, hist: r.hist, flood: "room:" + strconv.Itoa(r.id)}, nil
}

// sender identifies the token's sender for flood control.
func (c *call) sender() string {
	switch {
	case c.tok.user != nil:
		return "user:" + strconv.Itoa(c.tok.user.id)
	case c.tok.client != nil:
		return "client:" + c.tok.client.id
	}
	return "token:" + c.tok.usage.sha
}

// checkFlood counts one message against flood control (FloodLimit per minute per room and sender)
// and sets the X-FloodControl-* headers; over the limit it is a 429.
func (c *call) checkFlood(t target) error {
	limit := c.s.opts.FloodLimit
	if limit <= 0 {
		return nil
	}
	st, ok := c.s.meter.flood(floodKey{target: t.flood, sender: c.sender()}, c.now, limit, true)
	setFloodHeaders(c.w.Header(), st)
	if !ok {
		return errRateLimited
	}
	return nil
}

// deliver appends p to the target's history at the call's time, after flood control, and makes the
// sending user a participant of the room; in a room it fires room_enter (for a new participant) and
// the message's webhook event.
func (c *call) deliver(t target, p post) (*message, error) {
	if err := c.checkFlood(t); err != nil {
		return nil, err
	}
	m := newMessage(c.s.newID(), c.s.seq.Add(1), c.now, p)
	t.hist.add(m)
	entered := false
	if u := c.tok.user; u != nil {
		u.lastActive.Store(c.now.Unix())
		if t.room != nil {
			c.s.mu.RLock()
			in := containsInt(t.room.participants, u.id)
			c.s.mu.RUnlock()
			if !in {
				c.s.mu.Lock()
				entered = !containsInt(t.room.participants, u.id)
				t.room.addParticipant(u.id)
				c.s.mu.Unlock()
			}
		}
	}
	if t.room != nil {
		c.emitMessage(t.room, m, p, entered)
	}
	return m, nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// handlePostMessage is POST /v2/room/{room}/message {"message"} → 201 {"id","timestamp"}, the
// timestamp in the history date format ([GAP] spec §6.1). message is 1–1000 characters ([INFERRED]).
// Users only; @mentions of known users fill mentions.
func handlePostMessage(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	text, _, err := f.str("message", true, 1, 1000)
	if err != nil {
		return err
	}
	c.s.mu.RLock()
	t, err := c.roomTarget()
	author := stubOf(c.tok.user)
	mentions := c.s.mentionsIn(text)
	c.s.mu.RUnlock()
	if err != nil {
		return err
	}
	m, err := c.deliver(t, post{kind: "message", from: &author, text: text, mentions: mentions})
	if err != nil {
		return err
	}
	return c.json(http.StatusCreated, map[string]any{"id": m.id, "timestamp": formatDate(m.at)})
}

// handleReply is POST /v2/room/{room}/reply {"parentMessageId","message"} → 204: a user message
// replying to a message of the room.
func handleReply(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	parent, _, err := f.str("parentMessageId", true, 1, 36)
	if err != nil {
		return err
	}
	text, _, err := f.str("message", true, 1, 1000)
	if err != nil {
		return err
	}
	c.s.mu.RLock()
	t, err := c.roomTarget()
	author := stubOf(c.tok.user)
	mentions := c.s.mentionsIn(text)
	c.s.mu.RUnlock()
	if err != nil {
		return err
	}
	t.hist.mu.RLock()
	_, known := t.hist.byID[parent]
	t.hist.mu.RUnlock()
	if !known {
		return invalid("parentMessageId", "exists", parent, "Message %s not found", parent)
	}
	if _, err := c.deliver(t, post{kind: "message", from: &author, text: text, mentions: mentions}); err != nil {
		return err
	}
	return c.noContent()
}

// readShareLink validates a share/link body: an absolute link and an optional message.
func readShareLink(c *call) (post, error) {
	f, err := readJSON(c.r, false)
	if err != nil {
		return post{}, err
	}
	link, _, err := f.str("link", true, 1, 2048)
	if err != nil {
		return post{}, err
	}
	if u, err := url.Parse(link); err != nil || !u.IsAbs() || u.Host == "" {
		return post{}, invalid("link", "format", link, "Field link must be an absolute URL")
	}
	text, _, err := f.str("message", false, 0, 1000)
	if err != nil {
		return post{}, err
	}
	text = strings.TrimSpace(text + " " + link)
	links := marshal([]map[string]any{{"link": map[string]string{"url": link}, "type": "link", "url": link}})
	return post{kind: "message", text: text, links: links}, nil
}

// handleRoomShareLink is POST /v2/room/{room}/share/link {"link","message"} → 204: a user message
// whose text is the message and the link, with message_links describing it.
func handleRoomShareLink(c *call) error {
	p, err := readShareLink(c)
	if err != nil {
		return err
	}
	c.s.mu.RLock()
	t, err := c.roomTarget()
	author := stubOf(c.tok.user)
	p.mentions = c.s.mentionsIn(p.text)
	c.s.mu.RUnlock()
	if err != nil {
		return err
	}
	p.from = &author
	if _, err := c.deliver(t, p); err != nil {
		return err
	}
	return c.noContent()
}

// handleRoomShareFile is POST /v2/room/{room}/share/file (multipart, spec §2.9) → 204: a user message
// with a file object whose url serves the bytes from the emulator, or, with Options.AuthenticatedFiles
// or a room with authenticated files, an authenticated_file {id, name, size} and no url (spec §3.1).
func handleRoomShareFile(c *call) error {
	share, err := readShare(c.r)
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	t, err := c.roomTarget()
	var p post
	if err == nil {
		author := stubOf(c.tok.user)
		p = post{kind: "message", from: &author, text: share.message, mentions: c.s.mentionsIn(share.message),
			file: c.s.storeFile(share.name, share.contentType, share.data)}
		if c.s.opts.AuthenticatedFiles || t.room.authenticatedFiles {
			p.fileID = c.s.newID()
		}
	}
	c.s.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := c.deliver(t, p); err != nil {
		return err
	}
	return c.noContent()
}

// handleTopic is PUT /v2/room/{room}/topic {"topic"} → 204. It also adds a "topic" item to the
// history, as HipChat did (spec §3.1 type topic), from the user or, for add-ons, their name, and
// fires room_topic_change.
func handleTopic(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	topic, _, err := f.str("topic", true, 0, 250)
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	r, err := c.pathRoom()
	var p post
	if err == nil {
		r.topic = topic
		r.version = c.s.version()
		p = post{kind: "topic", text: topic}
		switch {
		case c.tok.user != nil:
			author := stubOf(c.tok.user)
			p.from = &author
		case c.tok.client != nil:
			p.label = c.tok.client.name
		default:
			p.label = c.tok.label
		}
	}
	if err == nil {
		c.emitRoom(r, "room_topic_change", map[string]any{"topic": topic}, c.tok.user)
	}
	c.s.mu.Unlock()
	if err != nil {
		return err
	}
	r.hist.add(newMessage(c.s.newID(), c.s.seq.Add(1), c.now, p))
	return c.noContent()
}

// chatTarget resolves the private chat with {user} for sending.
func (c *call) chatTarget() (target, *userStub, error) {
	other, h, err := c.chatWith(true)
	if err != nil {
		return target{}, nil, err
	}
	key := chatKey(c.tok.user.id, other.id)
	c.s.mu.RLock()
	author := stubOf(c.tok.user)
	c.s.mu.RUnlock()
	return target{hist: h, flood: "chat:" + strconv.Itoa(key[0]) + "-" + strconv.Itoa(key[1])}, &author, nil
}

// handleUserMessage is POST /v2/user/{user}/message {"message","notify","message_format"} → 204: a
// private message from the token's user.
func handleUserMessage(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	text, _, err := f.str("message", true, 1, 10000)
	if err != nil {
		return err
	}
	if format, ok, err := f.optional("message_format", 1, 10); err != nil {
		return err
	} else if ok {
		if err := oneOf("message_format", format, "html", "text"); err != nil {
			return err
		}
	}
	if _, err := f.boolean("notify", false); err != nil {
		return err
	}
	t, author, err := c.chatTarget()
	if err != nil {
		return err
	}
	if _, err := c.deliver(t, post{kind: "message", from: author, text: text}); err != nil {
		return err
	}
	return c.noContent()
}

func handleUserShareLink(c *call) error {
	p, err := readShareLink(c)
	if err != nil {
		return err
	}
	t, author, err := c.chatTarget()
	if err != nil {
		return err
	}
	p.from = author
	if _, err := c.deliver(t, p); err != nil {
		return err
	}
	return c.noContent()
}

func handleUserShareFile(c *call) error {
	share, err := readShare(c.r)
	if err != nil {
		return err
	}
	t, author, err := c.chatTarget()
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	file := c.s.storeFile(share.name, share.contentType, share.data)
	c.s.mu.Unlock()
	p := post{kind: "message", from: author, text: share.message, file: file}
	if c.s.opts.AuthenticatedFiles {
		p.fileID = c.s.newID()
	}
	if _, err := c.deliver(t, p); err != nil {
		return err
	}
	return c.noContent()
}
