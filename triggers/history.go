package triggers

import (
	"context"
	"math"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// HistorySource reads room history; *connector.Client is one.
type HistorySource interface {
	LatestHistory(ctx context.Context, conn connector.Connection, room, notBefore string, max int) ([]connector.Message, error)
	HistoryBefore(ctx context.Context, conn connector.Connection, room string, date, endDate time.Time, startIndex, max int) ([]connector.Message, bool, error)
}

// historyPage is the most messages asked of HipChat in one call (its max-results limit).
const historyPage = 1000

// maxWalkPages bounds how far back one read walks /history (100,000 messages): beyond it the read
// fails instead of looping; a feed that far behind needs the catch-up bound.
const maxWalkPages = 100

// MessageBatch is what one read found after a cursor.
type MessageBatch struct {
	// Messages are the messages after the cursor, oldest first, at most the read's limit, of every
	// type (the caller filters by trigger kind).
	Messages []connector.Message
	// More reports that further messages are known to wait after the last of Messages.
	More bool
	// upper is a date the remaining backlog is known to reach and pass, when More (cut).
	upper time.Time
}

// MessageBaseline returns the cursor of "now" for a room: its newest message, so that nothing from before
// the trigger existed is ever delivered. An empty room gives the zero cursor: everything is new.
func MessageBaseline(ctx context.Context, src HistorySource, conn connector.Connection, room string) (MessageCursor, error) {
	latest, err := src.LatestHistory(ctx, conn, room, "", 100)
	if err != nil || len(latest) == 0 {
		return MessageCursor{}, err
	}
	return advance(MessageCursor{}, latest, len(latest)-1), nil
}

// ReadMessages returns up to limit messages after cursor, oldest first, with one HipChat call when
// nothing is new. It asks /history/latest with not-before = the cursor's message; when that message
// is missing from the answer, more messages arrived than one answer holds (or the message is gone),
// and the gap is filled from /history by date, walking back page by page to the cursor's date.
// Errors are HipChat's (*connector.Error) or ctx's.
func ReadMessages(ctx context.Context, src HistorySource, conn connector.Connection, room string, cursor MessageCursor, limit int) (MessageBatch, error) {
	if limit <= 0 || limit > historyPage {
		limit = historyPage
	}
	return readMessages(ctx, src, conn, room, cursor, limit)
}

// readMessages is ReadMessages with any limit.
func readMessages(ctx context.Context, src HistorySource, conn connector.Connection, room string, cursor MessageCursor, limit int) (MessageBatch, error) {
	if !cursor.Upper.IsZero() {
		walked, err := walkBack(ctx, src, conn, room, cursor, cursor.Upper)
		if err != nil {
			return MessageBatch{}, err
		}
		if len(walked) > 0 {
			// A cursor has Upper only when more messages are known to wait after it (Advance): say
			// so; the read after asks /history/latest for them.
			return cut(walked, limit, true), nil
		}
		cursor.Upper = time.Time{}
	}

	latest, err := src.LatestHistory(ctx, conn, room, cursor.LastID, historyPage)
	if err != nil {
		return MessageBatch{}, err
	}
	if i := indexOf(latest, cursor.LastID); i >= 0 || (cursor.isStart() && len(latest) < historyPage) {
		return cut(latest[i+1:], limit, false), nil
	}
	if len(latest) == 0 {
		return MessageBatch{}, nil // the room's history is gone; nothing to deliver
	}

	// A gap: walk /history back from the oldest message of this answer to the cursor.
	walked, err := walkBack(ctx, src, conn, room, cursor, latest[0].Time)
	if err != nil {
		return MessageBatch{}, err
	}
	seen := make(map[string]bool, len(walked))
	for _, m := range walked {
		seen[m.ID] = true
	}
	for _, m := range latest {
		if !seen[m.ID] {
			walked = append(walked, m)
		}
	}
	return cut(walked, limit, false), nil
}

// ReadEveryMessage returns every message after cursor, oldest first, however many (up to the
// 100,000 one read may walk), and never More: the catch-up bound keeps the newest of a whole
// backlog this way, where reads of a limit each would let the newest of each through. A backlog
// the cursor knows of (Upper) is read to now, not only to Upper. Errors are ReadMessages's.
func ReadEveryMessage(ctx context.Context, src HistorySource, conn connector.Connection, room string, cursor MessageCursor) (MessageBatch, error) {
	cursor.Upper = time.Time{}
	return readMessages(ctx, src, conn, room, cursor, math.MaxInt)
}

// walkBack returns every message after cursor dated at or before upper, oldest first, reading
// /history newest-first by offset (offsets counted from upper stay put while new messages arrive,
// since those are newer than upper), limited below by the cursor's date.
func walkBack(ctx context.Context, src HistorySource, conn connector.Connection, room string, cursor MessageCursor, upper time.Time) ([]connector.Message, error) {
	var pages [][]connector.Message
	start := 0
	for page := 0; ; page++ {
		if page == maxWalkPages {
			return nil, &connector.Error{Kind: connector.KindUnavailable, Message: "the backlog is larger than one read may walk"}
		}
		items, more, err := src.HistoryBefore(ctx, conn, room, upper, cursor.Date, start, historyPage)
		if err != nil {
			return nil, err
		}
		pages = append(pages, items)
		if !more || len(items) == 0 {
			break
		}
		start += len(items)
	}
	var all []connector.Message
	seen := map[string]bool{}
	for i := len(pages) - 1; i >= 0; i-- {
		for _, m := range pages[i] {
			if !seen[m.ID] {
				seen[m.ID] = true
				all = append(all, m)
			}
		}
	}
	return after(all, cursor), nil
}

// after returns the messages of list (oldest first, starting at or before cursor's date) that come
// after cursor.
func after(list []connector.Message, cursor MessageCursor) []connector.Message {
	if cursor.isStart() {
		return list
	}
	if i := indexOf(list, cursor.LastID); i >= 0 {
		return list[i+1:]
	}
	// The cursor's message is gone: what is newer than its date is new, and of the messages sharing
	// its date, those past the count already passed.
	var out []connector.Message
	same := 0
	for _, m := range list {
		switch {
		case m.Time.After(cursor.Date):
			out = append(out, m)
		case m.Time.Equal(cursor.Date):
			same++
			if same > cursor.AtDate {
				out = append(out, m)
			}
		}
	}
	return out
}

// cut keeps the first limit of newer and records whether more wait; knownMore (messages newer than
// all of newer wait too) forces More. upper, how far the next read walks by date, is set only
// when more is known to wait beyond it: past half a /history/latest answer of the rest, or after
// newer (knownMore). Else the rest is few enough for the next read to ask /history/latest.
func cut(newer []connector.Message, limit int, knownMore bool) MessageBatch {
	if len(newer) <= limit {
		return MessageBatch{Messages: newer, More: knownMore && len(newer) > 0}
	}
	rest := newer[limit:]
	batch := MessageBatch{Messages: newer[:limit], More: true}
	if len(rest) > historyPage/2 || knownMore {
		batch.upper = rest[min(len(rest), historyPage/2)-1].Time
	}
	return batch
}

// Advance returns the cursor after the first n messages of batch have been passed (n may be 0).
// When more messages are known to wait after the batch and some of it was not passed, or the batch
// knows how far a large backlog reaches, the next read walks /history up to that known date (Upper)
// rather than asking /history/latest. A cursor with Upper thus always has more waiting after
// Upper, so the read that walks up to it says More; otherwise the next read asks
// /history/latest, which holds what is left of the batch, and says More only when more is known
// (a polling trigger's last page of a backlog then asks for no immediate poll).
func (b MessageBatch) Advance(cursor MessageCursor, n int) MessageCursor {
	next := cursor
	if n > 0 {
		next = advance(cursor, b.Messages, n-1)
	}
	next.Upper = time.Time{}
	switch {
	case !b.More:
	case n < len(b.Messages):
		next.Upper = b.Messages[len(b.Messages)-1].Time
	case !b.upper.IsZero():
		next.Upper = b.upper
	}
	return next
}

// advance returns the cursor positioned at list[k], list being the messages after cursor, oldest first.
func advance(cursor MessageCursor, list []connector.Message, k int) MessageCursor {
	last := list[k]
	n := 0
	for _, m := range list[:k+1] {
		if m.Time.Equal(last.Time) {
			n++
		}
	}
	if !cursor.isStart() && cursor.Date.Equal(last.Time) {
		n += cursor.AtDate
	}
	return MessageCursor{LastID: last.ID, Date: last.Time, AtDate: n}
}

func (c MessageCursor) isStart() bool { return c.LastID == "" && c.Date.IsZero() }

func indexOf(list []connector.Message, id string) int {
	if id == "" {
		return -1
	}
	for i, m := range list {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// For returns what the batch, read from base (the oldest cursor of a feed), holds for a subscriber
// whose own cursor is c: the messages after c, and c's cursor once they are passed. A cursor past the
// end of the batch gets nothing and stays where it is.
func (b MessageBatch) For(base, c MessageCursor) ([]connector.Message, MessageCursor) {
	from := 0
	if c.LastID != base.LastID || !c.Date.Equal(base.Date) {
		i := indexOf(b.Messages, c.LastID)
		if i < 0 {
			return nil, c
		}
		from = i + 1
	}
	return b.Messages[from:], b.Advance(base, len(b.Messages))
}

// Beyond reports whether cursor c lies beyond the batch read from base: more waits after the
// batch, and c is neither base nor one of its messages, so For gives c nothing until a read
// reaches it (a feed's read started far behind c, for a subscription that lags).
func (b MessageBatch) Beyond(base, c MessageCursor) bool {
	if !b.More || len(b.Messages) == 0 || (c.LastID == base.LastID && c.Date.Equal(base.Date)) {
		return false
	}
	return indexOf(b.Messages, c.LastID) < 0
}
