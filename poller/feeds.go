package poller

import (
	"cmp"
	"context"
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
	pos  int       // its index in the read's batch, where a cursor that stops at it stands
}

// advance is one subscription's part of a feed's commit: what the store writes, and how the
// subscription's cursor moves in memory once it is written.
type advance struct {
	stored   state.CursorAdvance
	apply    func() // runs under the poller's lock after the commit
	kind     triggers.Kind
	filtered int // messages of its kind its filter left out that the cursor passed, counted once committed
}

// pollMessages reads a room's history for the feed's message and file subscriptions, whatever their
// filters — once for those that are current, once more for those catching up after their outbox's
// bound held them (backlog.go), never for the held ones — and commits each one's events and cursor
// in one transaction. It returns how many new messages of their kinds it passed, queued or left out
// by a filter: either proves a doorbell (push.go) right.
func (p *Poller) pollMessages(ctx context.Context, conn connector.Connection, f *feed) (int, error) {
	room, err := p.resolveRoom(ctx, conn, f)
	if err != nil {
		return 0, err
	}
	groups := p.readGroups(f)
	var advances []advance
	for i := 0; i < len(groups); i++ {
		advs, stalled, err := p.readMessages(ctx, conn, room, groups[i])
		if err != nil {
			return 0, err
		}
		advances = append(advances, advs...)
		if i == 0 && len(stalled) > 0 {
			groups = append(groups, stalled) // ahead of the first read's reach: a read of their own, now
		}
	}
	queued, err := p.commit(advances)
	if err != nil {
		return 0, err
	}
	for _, adv := range advances {
		queued += adv.filtered
	}
	return queued, nil
}

// resolveRoom gives the feed's subscriptions stored before rooms were resolved HipChat's id and
// name of their room, with one HipChat call for the feed, so that their events carry them as every
// other subscription's do; the feed's commit then stores it (roomToSave). A feed whose
// subscriptions all have their room makes no call. It returns how the feed's reads name the room
// to HipChat: its id (ResolvedRoom.Ref), so that a room subscribed by its name is still read after
// it is renamed. Errors: HipChat's (*connector.Error), as a read of the feed would fail.
func (p *Poller) resolveRoom(ctx context.Context, conn connector.Connection, f *feed) (string, error) {
	var missing []*watched
	ref := ""
	for _, w := range f.subs {
		if !w.sub.Room.Resolved() {
			missing = append(missing, w)
		} else if ref == "" {
			ref = w.sub.Room.Ref(f.room)
		}
	}
	if len(missing) == 0 {
		return cmp.Or(ref, f.room), nil
	}
	room, err := triggers.ResolveRoom(ctx, p.src, conn, f.room)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range missing {
		w.sub.Room, w.roomToSave = room, true
	}
	return cmp.Or(ref, room.Ref(f.room)), nil
}

// readMessages reads a room's history once for subs, from the oldest of their cursors, and returns
// each one's part of the commit, and the subscriptions the read could not reach (stalled: their
// cursors lie beyond what it returned; the others are then marked lagging).
func (p *Poller) readMessages(ctx context.Context, conn connector.Connection, room string, subs []*watched) ([]advance, []*watched, error) {
	var room4 [4]triggers.MessageCursor // a feed's usual few subscriptions: no allocation
	cursors := room4[:0]
	if len(subs) > len(room4) {
		cursors = make([]triggers.MessageCursor, 0, len(subs))
	}
	cursors = cursors[:len(subs)]
	var now *triggers.MessageCursor
	for i, w := range subs {
		if !w.baseline {
			cursors[i] = w.msg
			continue
		}
		if now == nil {
			c, err := triggers.MessageBaseline(ctx, p.src, conn, room)
			if err != nil {
				return nil, nil, err
			}
			now = &c
		}
		cursors[i] = *now
	}
	base := sharedMessageBase(cursors)
	batch, err := p.readHistory(ctx, conn, room, base)
	if err != nil {
		return nil, nil, err
	}
	var advances []advance
	var stalled, quiet []*watched
	for i, w := range subs {
		if batch.Beyond(base, cursors[i]) {
			stalled = append(stalled, w)
			continue
		}
		messages, next := batch.For(base, cursors[i])
		found, filteredAt := p.matching(w, messages, len(batch.Messages)-len(messages))
		kept, note, whole := p.take(w, found)
		passed := len(batch.Messages)
		if !whole {
			if len(kept) == 0 {
				continue // held: its cursor waits where it is
			}
			passed = kept[len(kept)-1].pos + 1
			next = batch.Advance(base, passed)
		}
		if len(kept) == 0 && !w.baseline && !w.roomToSave && sameMessageCursor(next, w.msg) {
			quiet = append(quiet, w) // nothing new and nowhere to move: no write
			continue
		}
		encoded := triggers.EncodeMessageCursor(next)
		adv, err := p.advance(w, encoded, kept, note)
		if err != nil {
			return nil, nil, err
		}
		w, next, queued := w, next, len(adv.Events)
		advances = append(advances, advance{stored: adv, kind: w.sub.Kind, filtered: countBelow(filteredAt, passed), apply: func() {
			w.msg, w.baseline, w.sub.Cursor, w.roomToSave = next, false, encoded, false
			w.backlog.settle(queued, whole, batch.More, len(stalled) > 0)
		}})
	}
	p.settleQuiet(quiet, batch.More, len(stalled) > 0)
	return advances, stalled, nil
}

// wholeBacklog reports whether a feed's read takes its whole backlog at once rather than up to the
// read limit (so that a large backlog drains over the next reads): under a catch-up bound of
// events, so that the bound keeps the newest events of all of it, not the newest of each read.
func (p *Poller) wholeBacklog() bool { return p.catchUp.MaxEvents > 0 }

// readHistory is one read of a room's history after base, of the whole backlog or up to the read
// limit (wholeBacklog).
func (p *Poller) readHistory(ctx context.Context, conn connector.Connection, room string, base triggers.MessageCursor) (triggers.MessageBatch, error) {
	if p.wholeBacklog() {
		return triggers.ReadEveryMessage(ctx, p.src, conn, room, base)
	}
	return triggers.ReadMessages(ctx, p.src, conn, room, base, p.readLimit)
}

// matching returns the messages (after w's cursor, the first at position from of the read's batch)
// that are new items for w: of its kind and kept by its filter; and the positions of those of its
// kind the filter left out. The cursor passes them all the same, so a filtered-out message is
// never read again and never becomes a delivery.
func (p *Poller) matching(w *watched, messages []connector.Message, from int) (found []candidate, filteredAt []int) {
	if w.filterErr != nil && len(messages) > 0 {
		p.log.Error("a subscription's stored filter cannot be matched with; its messages are passed over",
			"subscription", w.sub.ID, "err", w.filterErr)
	}
	for j, m := range messages {
		switch {
		case !w.sub.Kind.Matches(m):
		case w.filterErr != nil || !w.filter.Match(m):
			filteredAt = append(filteredAt, from+j)
		default:
			found = append(found, candidate{id: m.ID, at: m.Time, item: triggers.NewHistoryItem(w.sub.Room, m), pos: from + j})
		}
	}
	return found, filteredAt
}

// countBelow counts the positions (ascending) before passed: the filtered-out messages a cursor
// that stops at passed has passed.
func countBelow(positions []int, passed int) int {
	n := 0
	for n < len(positions) && positions[n] < passed {
		n++
	}
	return n
}

// pollRooms reads the room list for the feed's room subscriptions: once for the current ones, once
// more for those catching up (backlog.go), and commits in one transaction.
func (p *Poller) pollRooms(ctx context.Context, conn connector.Connection, f *feed) (int, error) {
	groups := p.readGroups(f)
	var advances []advance
	for i := 0; i < len(groups); i++ {
		advs, stalled, err := p.readRooms(ctx, conn, groups[i])
		if err != nil {
			return 0, err
		}
		advances = append(advances, advs...)
		if i == 0 && len(stalled) > 0 {
			groups = append(groups, stalled)
		}
	}
	return p.commit(advances)
}

// readRooms reads the room list once for subs, from the oldest of their cursors, as readMessages
// reads a history.
func (p *Poller) readRooms(ctx context.Context, conn connector.Connection, subs []*watched) ([]advance, []*watched, error) {
	cursors := make([]triggers.RoomCursor, len(subs))
	var now *triggers.RoomCursor
	for i, w := range subs {
		if !w.baseline {
			cursors[i] = w.room
			continue
		}
		if now == nil {
			c, err := triggers.RoomBaseline(ctx, p.src, conn)
			if err != nil {
				return nil, nil, err
			}
			now = &c
		}
		cursors[i] = *now
	}
	base := cursors[0]
	for _, c := range cursors[1:] {
		base.MaxID = min(base.MaxID, c.MaxID)
	}
	limit := p.readLimit
	if p.wholeBacklog() {
		limit = 0 // every new room
	}
	batch, err := triggers.ReadRooms(ctx, p.src, conn, base, limit)
	if err != nil {
		return nil, nil, err
	}
	var advances []advance
	var stalled, quiet []*watched
	for i, w := range subs {
		if batch.Beyond(cursors[i]) {
			stalled = append(stalled, w)
			continue
		}
		next := batch.Advance(cursors[i], len(batch.Rooms))
		var found []candidate
		for j, r := range batch.Rooms {
			if r.ID > cursors[i].MaxID {
				found = append(found, candidate{id: strconv.Itoa(r.ID), item: triggers.NewRoomItem(r), pos: j})
			}
		}
		kept, note, whole := p.take(w, found)
		if !whole {
			if len(kept) == 0 {
				continue
			}
			next = batch.Advance(cursors[i], kept[len(kept)-1].pos+1)
		}
		if len(kept) == 0 && !w.baseline && next == w.room {
			quiet = append(quiet, w)
			continue
		}
		encoded := triggers.EncodeRoomCursor(next)
		adv, err := p.advance(w, encoded, kept, note)
		if err != nil {
			return nil, nil, err
		}
		w, next, queued := w, next, len(adv.Events)
		advances = append(advances, advance{stored: adv, apply: func() {
			w.room, w.baseline, w.sub.Cursor = next, false, encoded
			w.backlog.settle(queued, whole, batch.More, len(stalled) > 0)
		}})
	}
	p.settleQuiet(quiet, batch.More, len(stalled) > 0)
	return advances, stalled, nil
}

// settleQuiet records a read that found nothing for subs (backlog.settle).
func (p *Poller) settleQuiet(subs []*watched, more, behind bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range subs {
		w.backlog.settle(0, true, more, behind)
	}
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

// advance builds a subscription's part of a commit: its new cursor, the events kept (after the
// catch-up bound, whose note the first of them carries, and the outbox's bound) and the room the
// poller resolved for it, when it has not been stored yet.
func (p *Poller) advance(w *watched, next []byte, kept []candidate, note string) (state.CursorAdvance, error) {
	events := make([]state.Event, len(kept))
	for i, c := range kept {
		payload, err := triggers.EncodePayload(c.item)
		if err != nil {
			return state.CursorAdvance{}, fmt.Errorf("encode event %s: %w", c.id, err)
		}
		events[i] = state.Event{ID: c.id, Type: w.sub.Kind.EventType(), Payload: payload}
	}
	if note != "" && len(events) > 0 {
		events[0].CatchUpNote = note
	}
	adv := state.CursorAdvance{SubscriptionID: w.sub.ID, Cursor: next, Events: events}
	if w.roomToSave {
		adv.Room = w.sub.Room
	}
	return adv, nil
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
