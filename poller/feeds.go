package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// candidate is a new item for one subscription, before the catch-up bound.
type candidate struct {
	id   string    // event id: the HipChat message id, or the room id
	at   time.Time // the message's date; zero for rooms
	item any       // the payload: triggers.HistoryItem or triggers.RoomItem
}

// advance is one subscription's part of a feed's commit: what the store writes, and how the
// subscription's cursor moves in memory once it is written.
type advance struct {
	stored   state.CursorAdvance
	apply    func() // runs under the poller's lock after the commit
	kind     triggers.Kind
	filtered int // messages of its kind the subscription's filter left out, counted once committed
}

// pollMessages reads a room's history once for the feed's message and file subscriptions, whatever
// their filters, and commits each one's events and cursor. It returns how many new messages of
// their kinds it found, queued or left out by a filter: either proves a doorbell (push.go) right.
func (p *Poller) pollMessages(ctx context.Context, conn connector.Connection, f *feed) (int, error) {
	cursors := make([]triggers.MessageCursor, len(f.subs))
	var now *triggers.MessageCursor
	for i, w := range f.subs {
		if !w.baseline {
			cursors[i] = w.msg
			continue
		}
		if now == nil {
			c, err := triggers.MessageBaseline(ctx, p.src, conn, f.room)
			if err != nil {
				return 0, err
			}
			now = &c
		}
		cursors[i] = *now
	}
	base := sharedMessageBase(cursors)
	batch, err := triggers.ReadMessages(ctx, p.src, conn, f.room, base, p.readLimit)
	if err != nil {
		return 0, err
	}
	at := p.now()
	var advances []advance
	filteredOut := 0
	for i, w := range f.subs {
		messages, next := batch.For(base, cursors[i])
		found, filtered := p.matching(w, messages)
		filteredOut += filtered
		if len(found) == 0 && !w.baseline && sameMessageCursor(next, w.msg) {
			continue // nothing new and nowhere to move: no write
		}
		encoded := triggers.EncodeMessageCursor(next)
		adv, err := p.advance(w, encoded, found, at)
		if err != nil {
			return 0, err
		}
		w, next := w, next
		advances = append(advances, advance{stored: adv, kind: w.sub.Kind, filtered: filtered, apply: func() {
			w.msg, w.baseline, w.sub.Cursor = next, false, encoded
		}})
	}
	queued, err := p.commit(advances)
	if err != nil {
		return 0, err
	}
	return queued + filteredOut, nil
}

// matching returns the messages (after w's cursor) that are new items for w: of its kind and kept
// by its filter; and how many of its kind the filter left out. They are passed by the cursor all
// the same, so a filtered-out message is never read again and never becomes a delivery.
func (p *Poller) matching(w *watched, messages []connector.Message) (found []candidate, filtered int) {
	if w.filterErr != nil && len(messages) > 0 {
		p.log.Error("a subscription's stored filter cannot be matched with; its messages are passed over",
			"subscription", w.sub.ID, "err", w.filterErr)
	}
	for _, m := range messages {
		if !w.sub.Kind.Matches(m) {
			continue
		}
		if w.filterErr != nil || !w.filter.Match(m) {
			filtered++
			continue
		}
		found = append(found, candidate{id: m.ID, at: m.Time, item: triggers.NewHistoryItem(w.sub.RoomID, m)})
	}
	return found, filtered
}

// pollRooms reads the room list once for the feed's room subscriptions.
func (p *Poller) pollRooms(ctx context.Context, conn connector.Connection, f *feed) (int, error) {
	cursors := make([]triggers.RoomCursor, len(f.subs))
	var now *triggers.RoomCursor
	for i, w := range f.subs {
		if !w.baseline {
			cursors[i] = w.room
			continue
		}
		if now == nil {
			c, err := triggers.RoomBaseline(ctx, p.src, conn)
			if err != nil {
				return 0, err
			}
			now = &c
		}
		cursors[i] = *now
	}
	base := cursors[0]
	for _, c := range cursors[1:] {
		base.MaxID = min(base.MaxID, c.MaxID)
	}
	batch, err := triggers.ReadRooms(ctx, p.src, conn, base, p.readLimit)
	if err != nil {
		return 0, err
	}
	at := p.now()
	var advances []advance
	for i, w := range f.subs {
		next := batch.Advance(cursors[i], len(batch.Rooms))
		var found []candidate
		for _, r := range batch.Rooms {
			if r.ID > cursors[i].MaxID {
				found = append(found, candidate{id: strconv.Itoa(r.ID), item: triggers.NewRoomItem(r)})
			}
		}
		if len(found) == 0 && !w.baseline && next == w.room {
			continue
		}
		encoded := triggers.EncodeRoomCursor(next)
		adv, err := p.advance(w, encoded, found, at)
		if err != nil {
			return 0, err
		}
		w, next := w, next
		advances = append(advances, advance{stored: adv, apply: func() {
			w.room, w.baseline, w.sub.Cursor = next, false, encoded
		}})
	}
	return p.commit(advances)
}

// sameMessageCursor reports whether two cursors stand at the same place, compared as values.
func sameMessageCursor(a, b triggers.MessageCursor) bool {
	return a.LastID == b.LastID && a.Date.Equal(b.Date) && a.AtDate == b.AtDate && a.Upper.Equal(b.Upper)
}

// sharedMessageBase is where a feed's one read starts: the oldest cursor of its subscriptions. When
// they all stand at the same place (the usual case), that cursor is kept whole, including its
// knowledge of a backlog (Upper), so draining a backlog costs no extra calls.
func sharedMessageBase(cursors []triggers.MessageCursor) triggers.MessageCursor {
	first := cursors[0]
	for _, c := range cursors[1:] {
		if !sameMessageCursor(c, first) {
			return triggers.OldestMessageCursor(cursors)
		}
	}
	return first
}

// advance builds a subscription's part of a commit: its new cursor and its events after the
// catch-up bound.
func (p *Poller) advance(w *watched, next []byte, found []candidate, now time.Time) (state.CursorAdvance, error) {
	kept, note := p.bound(found, now)
	if note != "" {
		p.log.Warn("catch-up bound skipped events", "subscription", w.sub.ID, "note", note)
	}
	events := make([]state.Event, len(kept))
	for i, c := range kept {
		payload, err := json.Marshal(c.item)
		if err != nil {
			return state.CursorAdvance{}, fmt.Errorf("encode event %s: %w", c.id, err)
		}
		events[i] = state.Event{ID: c.id, Type: w.sub.Kind.EventType(), Payload: payload}
	}
	if note != "" && len(events) > 0 {
		events[0].CatchUpNote = note
	}
	return state.CursorAdvance{SubscriptionID: w.sub.ID, Cursor: next, Events: events}, nil
}

// bound applies the catch-up bound to one subscription's new items (oldest first) and returns those
// to deliver, and a note when some were skipped.
func (p *Poller) bound(found []candidate, now time.Time) ([]candidate, string) {
	kept := found
	var parts []string
	if p.catchUp.MaxAge > 0 {
		cutoff := now.Add(-p.catchUp.MaxAge)
		fresh := kept[:0:0]
		for _, c := range kept {
			if c.at.IsZero() || !c.at.Before(cutoff) {
				fresh = append(fresh, c)
			}
		}
		if old := len(kept) - len(fresh); old > 0 {
			parts = append(parts, fmt.Sprintf("%d older than %s", old, p.catchUp.MaxAge))
		}
		kept = fresh
	}
	if limit := p.catchUp.MaxEvents; limit > 0 && len(kept) > limit {
		parts = append(parts, fmt.Sprintf("%d beyond the newest %d of one poll", len(kept)-limit, limit))
		kept = kept[len(kept)-limit:]
	}
	if len(parts) == 0 {
		return kept, ""
	}
	skipped := len(found) - len(kept)
	return kept, fmt.Sprintf("catch-up bound skipped %d earlier events (%s)", skipped, strings.Join(parts, ", "))
}
