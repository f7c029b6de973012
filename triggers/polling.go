package triggers

import (
	"context"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Source is what the polling triggers read from HipChat; *connector.Client is one.
type Source interface {
	HistorySource
	RoomSource
	RoomLookup
}

// Polling answers the Logic Apps polling protocol for the three trigger kinds. It keeps no state of
// its own: the cursor travels, signed, in the state the client sends back.
type Polling struct {
	Source Source
	// Users looks up the users a filter names, on a first poll; *connector.Client is one.
	Users UserSource
	Codec *StateCodec
	// Interval is the Retry-After of a poll that found everything (the seed: one poll per 60 s).
	Interval time.Duration
	// MaxItems caps the items of one answer, so a backlog drains over a few quick polls (Retry-After 0).
	MaxItems int
}

// Poll is the outcome of one poll of the protocol; the HTTP home turns it into 200 with the items,
// or 202 when there are none.
type Poll struct {
	Items      any           // HistoryResponse or RoomList when new items arrived; nil otherwise
	State      string        // the state for the next poll, to put in Location
	RetryAfter time.Duration // 0 only when more messages are known to wait; else Interval
	// Filtered is how many messages of the trigger's kind the filter left out (they are passed, as
	// the cursor moves over them, and never returned).
	Filtered int
}

// HasItems reports whether the poll found new items.
func (p Poll) HasItems() bool { return p.Items != nil }

// scanLimit is how many history messages one poll reads at most; what is not of the trigger's kind is
// passed over, so it can exceed MaxItems.
const scanLimit = 1000

// Messages polls OnNewMessage or OnNewFile of room, keeping only the messages filter (from
// ParseFilter) lets through. An empty state is the first poll: it resolves the room (HipChat's id
// and name, which every item then carries), looks up the users the filter names and answers 202
// with the baseline (nothing from before it is ever delivered); the state carries the room and the
// filter from then on. A state issued before rooms were resolved has its room resolved on the poll
// that brings it, and the next state carries it. Errors: the ErrState* errors for a state that is
// not this connection's state of this trigger, room and filter; *InvalidFilter for a user the filter
// names that HipChat does not know; *connector.Error from HipChat (KindNotFound for an unknown room).
func (p *Polling) Messages(ctx context.Context, conn connector.Connection, kind Kind, room string, filter FilterSpec, state string) (Poll, error) {
	if state == "" {
		return p.firstMessages(ctx, conn, kind, room, filter)
	}
	ms, err := p.Codec.DecodeMessages(state, conn.ID, kind, room, filter)
	if err != nil {
		return Poll{}, err
	}
	matcher, err := ms.Filter.Compile()
	if err != nil {
		return Poll{}, err
	}
	if !ms.Room.Resolved() {
		if ms.Room, err = ResolveRoom(ctx, p.Source, conn, room); err != nil {
			return Poll{}, err
		}
	}
	batch, err := ReadMessages(ctx, p.Source, conn, ms.Room.Ref(room), ms.Cursor, scanLimit)
	if err != nil {
		return Poll{}, err
	}
	items := []HistoryItem{}
	passed, filtered := len(batch.Messages), 0
	for i, m := range batch.Messages {
		if !kind.Matches(m) {
			continue
		}
		if !matcher.Match(m) {
			filtered++
			continue
		}
		items = append(items, NewHistoryItem(ms.Room, m))
		if len(items) == p.maxItems() {
			passed = i + 1
			break
		}
	}
	cursor := ms.Cursor
	ms.Cursor = batch.Advance(cursor, passed)
	next := p.Codec.EncodeMessages(conn.ID, kind, room, ms)
	more := passed < len(batch.Messages) || batch.More
	poll := p.empty(next, more)
	if len(items) > 0 {
		poll.Items = HistoryResponse{Items: items}
	}
	poll.Filtered = filtered
	return poll, nil
}

// firstMessages is the first poll of a message trigger: the room, the filter's users, then the
// baseline.
func (p *Polling) firstMessages(ctx context.Context, conn connector.Connection, kind Kind, room string, filter FilterSpec) (Poll, error) {
	resolved, err := ResolveRoom(ctx, p.Source, conn, room)
	if err != nil {
		return Poll{}, err
	}
	users, err := ResolveFilter(ctx, p.Users, conn, filter)
	if err != nil {
		return Poll{}, err
	}
	cursor, err := MessageBaseline(ctx, p.Source, conn, room)
	if err != nil {
		return Poll{}, err
	}
	ms := MessageState{Cursor: cursor, Filter: users, Room: resolved}
	return p.empty(p.Codec.EncodeMessages(conn.ID, kind, room, ms), false), nil
}

// Rooms polls OnNewRoom; the state rules are those of Messages.
func (p *Polling) Rooms(ctx context.Context, conn connector.Connection, state string) (Poll, error) {
	if state == "" {
		cursor, err := RoomBaseline(ctx, p.Source, conn)
		if err != nil {
			return Poll{}, err
		}
		return p.empty(p.Codec.EncodeRooms(conn.ID, cursor), false), nil
	}
	cursor, err := p.Codec.DecodeRooms(state, conn.ID)
	if err != nil {
		return Poll{}, err
	}
	batch, err := ReadRooms(ctx, p.Source, conn, cursor, p.maxItems())
	if err != nil {
		return Poll{}, err
	}
	if len(batch.Rooms) == 0 {
		return p.empty(state, false), nil
	}
	items := make([]RoomItem, len(batch.Rooms))
	for i, r := range batch.Rooms {
		items[i] = NewRoomItem(r)
	}
	next := p.Codec.EncodeRooms(conn.ID, batch.Advance(cursor, len(batch.Rooms)))
	return Poll{Items: RoomList{Items: items}, State: next, RetryAfter: p.retryAfter(batch.More)}, nil
}

func (p *Polling) empty(state string, more bool) Poll {
	return Poll{State: state, RetryAfter: p.retryAfter(more)}
}

func (p *Polling) retryAfter(more bool) time.Duration {
	if more {
		return 0
	}
	if p.Interval <= 0 {
		return 60 * time.Second
	}
	return p.Interval
}

func (p *Polling) maxItems() int {
	if p.MaxItems <= 0 {
		return 100
	}
	return p.MaxItems
}
