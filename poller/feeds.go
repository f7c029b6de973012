package poller

import (
	"bytes"
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

// pollMessages reads a room's history once for the feed's message and file subscriptions and
// commits each one's events and cursor.
func (p *Poller) pollMessages(ctx context.Context, conn connector.Connection, f *feed) error {
	cursors, err := cursorsOf(p, f, triggers.DecodeMessageCursor, func() (triggers.MessageCursor, error) {
		return triggers.MessageBaseline(ctx, p.src, conn, f.room)
	})
	if err != nil {
		return err
	}
	base := sharedMessageBase(cursors)
	batch, err := triggers.ReadMessages(ctx, p.src, conn, f.room, base, p.readLimit)
	if err != nil {
		return err
	}
	now := p.now()
	var advances []state.CursorAdvance
	for i, sub := range f.subs {
		messages, next := batch.For(base, cursors[i])
		var found []candidate
		for _, m := range messages {
			if sub.Kind.Matches(m) {
				found = append(found, candidate{id: m.ID, at: m.Time, item: triggers.NewHistoryItem(sub.RoomID, m)})
			}
		}
		adv, err := p.advance(sub, triggers.EncodeMessageCursor(next), found, now)
		if err != nil {
			return err
		}
		if adv != nil {
			advances = append(advances, *adv)
		}
	}
	return p.commit(advances)
}

// pollRooms reads the room list once for the feed's room subscriptions.
func (p *Poller) pollRooms(ctx context.Context, conn connector.Connection, f *feed) error {
	cursors, err := cursorsOf(p, f, triggers.DecodeRoomCursor, func() (triggers.RoomCursor, error) {
		return triggers.RoomBaseline(ctx, p.src, conn)
	})
	if err != nil {
		return err
	}
	base := cursors[0]
	for _, c := range cursors[1:] {
		base.MaxID = min(base.MaxID, c.MaxID)
	}
	batch, err := triggers.ReadRooms(ctx, p.src, conn, base, p.readLimit)
	if err != nil {
		return err
	}
	now := p.now()
	var advances []state.CursorAdvance
	for i, sub := range f.subs {
		next := batch.Advance(cursors[i], len(batch.Rooms))
		var found []candidate
		for _, r := range batch.Rooms {
			if r.ID > cursors[i].MaxID {
				found = append(found, candidate{id: strconv.Itoa(r.ID), item: triggers.NewRoomItem(r)})
			}
		}
		adv, err := p.advance(sub, triggers.EncodeRoomCursor(next), found, now)
		if err != nil {
			return err
		}
		if adv != nil {
			advances = append(advances, *adv)
		}
	}
	return p.commit(advances)
}

// cursorsOf decodes the stored cursor of each of the feed's subscriptions. Subscribing baselines the
// cursor; a subscription without one (or with an unreadable one) starts at now, from one baseline
// read shared by all such subscriptions of the feed.
func cursorsOf[C any](p *Poller, f *feed, decode func([]byte) (C, error), baseline func() (C, error)) ([]C, error) {
	cursors := make([]C, len(f.subs))
	var now *C
	for i, sub := range f.subs {
		if len(sub.Cursor) > 0 {
			c, err := decode(sub.Cursor)
			if err == nil {
				cursors[i] = c
				continue
			}
			p.log.Warn("unreadable cursor: starting the subscription from now", "subscription", sub.ID)
		}
		if now == nil {
			c, err := baseline()
			if err != nil {
				return nil, err
			}
			now = &c
		}
		cursors[i] = *now
	}
	return cursors, nil
}

// sharedMessageBase is where a feed's one read starts: the oldest cursor of its subscriptions. When
// they all stand at the same place (the usual case), that cursor is kept whole, including its
// knowledge of a backlog (Upper), so draining a backlog costs no extra calls.
func sharedMessageBase(cursors []triggers.MessageCursor) triggers.MessageCursor {
	first := cursors[0]
	for _, c := range cursors[1:] {
		if c.LastID != first.LastID || !c.Date.Equal(first.Date) || c.AtDate != first.AtDate || !c.Upper.Equal(first.Upper) {
			return triggers.OldestMessageCursor(cursors)
		}
	}
	return first
}

// advance builds a subscription's part of a commit: its new cursor and its events after the
// catch-up bound; nil when nothing changed.
func (p *Poller) advance(sub state.Subscription, next []byte, found []candidate, now time.Time) (*state.CursorAdvance, error) {
	kept, note := p.bound(found, now)
	if note != "" {
		p.log.Warn("catch-up bound skipped events", "subscription", sub.ID, "note", note)
	}
	if len(kept) == 0 && bytes.Equal(next, sub.Cursor) {
		return nil, nil
	}
	events := make([]state.Event, len(kept))
	for i, c := range kept {
		payload, err := json.Marshal(c.item)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", c.id, err)
		}
		events[i] = state.Event{ID: c.id, Type: sub.Kind.EventType(), Payload: payload}
	}
	if note != "" && len(events) > 0 {
		events[0].CatchUpNote = note
	}
	return &state.CursorAdvance{SubscriptionID: sub.ID, Cursor: next, Events: events}, nil
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
