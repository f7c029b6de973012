package hipchatsim

import (
	"encoding/json"
	"errors"
	"mime"
	"strconv"
	"time"
)

// What each room event's POST carries (spec §8; the room_message shape was captured live, the others
// follow it):
//
//	{"event": "room_message", "item": {"message": {…history item…}, "room": {…}}, "oauth_client_id", "webhook_id"}
//
//   - room_message, room_notification, room_file_upload: item.message (the history item as
//     /history returns it: a notification's from is a string, a file upload has item.message.file) and
//     item.room.
//   - room_enter, room_exit, room_archived, room_unarchived, room_deleted: item.room and item.sender
//     (the user stub of who did it; absent for add-ons and room tokens).
//   - room_topic_change: item.room, item.sender and item.topic.
//
// item.room is the room as GET /v2/room lists it: id, is_archived, links (members for private rooms,
// participants, self, webhooks), name, privacy, version. oauth_client_id is the client id of the
// add-on whose token registered the webhook, null for user and personal tokens.

// eventOf is the webhook event a new room message causes.
func eventOf(p post) string {
	switch {
	case p.file != nil:
		return "room_file_upload"
	case p.kind == "notification":
		return "room_notification"
	}
	return "room_message"
}

// emit queues a call for each of the room's webhooks registered for event; a room_message webhook
// with a pattern only when the message text matches it. extra holds the item's keys besides room.
// Callers hold s.mu (read or write); nothing here waits for a call.
func (s *Server) emit(r *room, event, base string, extra map[string]any, text string, sender *user, at time.Time) {
	var hooks []*webhook
	for _, w := range r.webhooks {
		if w.event != event || (event == "room_message" && w.re != nil && !w.re.MatchString(text)) {
			continue
		}
		hooks = append(hooks, w)
	}
	if len(hooks) == 0 {
		return
	}
	item := map[string]any{"room": r.listItem(base)}
	for k, v := range extra {
		item[k] = v
	}
	var senderID string
	if sender != nil {
		senderID = strconv.Itoa(sender.id)
		if _, ok := item["message"]; !ok {
			item["sender"] = sender.stub(base)
		}
	}
	for _, w := range hooks {
		var clientID any
		if w.client != nil {
			clientID = w.client.id
		}
		payload := marshal(map[string]any{"event": event, "item": item, "oauth_client_id": clientID, "webhook_id": w.id})
		s.hooks.enqueue(webhookJob{hook: w, room: r, event: event, payload: payload, base: base, sender: senderID, at: at})
	}
}

// emitMessage fires room_enter when the sender just became a participant, then the message's own
// event. Callers hold no lock.
func (c *call) emitMessage(r *room, m *message, p post, entered bool) {
	base := c.base()
	r.hist.mu.RLock()
	item := json.RawMessage(m.appendJSON(nil, base, time.UTC))
	r.hist.mu.RUnlock()
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	if entered {
		c.s.emit(r, "room_enter", base, nil, "", c.tok.user, c.now)
	}
	c.s.emit(r, eventOf(p), base, map[string]any{"message": item}, p.text, c.tok.user, c.now)
}

// emitRoom fires a room event caused by the call's token (enter, exit, archive, unarchive, delete,
// topic change); callers hold s.mu.
func (c *call) emitRoom(r *room, event string, extra map[string]any, who *user) {
	c.s.emit(r, event, c.base(), extra, "", who, c.now)
}

// postReply posts a room_message receiver's answer to the room, as HipChat did: a send-notification
// body (spec §2.7) whose from defaults to the add-on's name or the webhook creator's.
func (s *Server) postReply(j webhookJob, contentType string, body []byte) error {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return errors.New("the answer is not application/json")
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return errors.New("the answer is not a JSON object")
	}
	p, label, err := readNotification(f)
	if err != nil {
		return err
	}
	now := s.now()
	s.mu.RLock()
	gone := j.room.deleted || j.room.archived
	switch {
	case label != "":
		p.label = label
	case j.hook.client != nil:
		p.label = j.hook.client.name
	case j.hook.creator != nil:
		p.label = j.hook.creator.name
	}
	if cl := j.hook.client; cl != nil {
		p.sender = marshal(map[string]string{"client_id": cl.id, "id": cl.name, "type": "addon"})
	}
	s.mu.RUnlock()
	if gone {
		return errors.New("the room is archived or deleted")
	}
	m := newMessage(s.newID(), s.seq.Add(1), now, p)
	j.room.hist.add(m)
	j.room.hist.mu.RLock()
	item := json.RawMessage(m.appendJSON(nil, j.base, time.UTC))
	j.room.hist.mu.RUnlock()
	s.mu.RLock()
	s.emit(j.room, "room_notification", j.base, map[string]any{"message": item}, p.text, nil, now)
	s.mu.RUnlock()
	return nil
}
