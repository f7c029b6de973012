package triggers

import "time"

// MessageCursor marks the last room-history message a trigger has passed (delivered or skipped as not
// its kind). The message is named by id, because several messages can share one timestamp; the date
// and the count of passed messages with that date are kept as well, so the position survives even
// when HipChat no longer returns the message itself.
type MessageCursor struct {
	// LastID is the id of the newest message passed; "" means before every message of the room (the
	// room was empty at the baseline).
	LastID string `json:"id,omitempty"`
	// Date is LastID's date.
	Date time.Time `json:"d,omitzero"`
	// AtDate is how many messages dated exactly Date have been passed, LastID's included.
	AtDate int `json:"n,omitempty"`
	// Upper, when set, says a backlog is known to reach at least this date: the next read walks
	// /history by date up to Upper instead of asking /history/latest first.
	Upper time.Time `json:"u,omitzero"`
}

// RoomCursor marks the newest room a room trigger has passed. HipChat gives rooms increasing integer
// ids in creation order, so every room created after the cursor has a larger id.
type RoomCursor struct {
	MaxID int `json:"max_id"`
}

// before reports whether a is an older position than b: the oldest cursor of a feed's subscriptions
// is where a shared read starts.
func (a MessageCursor) before(b MessageCursor) bool {
	if a.LastID == "" && a.Date.IsZero() {
		return !(b.LastID == "" && b.Date.IsZero())
	}
	if !a.Date.Equal(b.Date) {
		return a.Date.Before(b.Date)
	}
	return a.AtDate < b.AtDate
}

// OldestMessageCursor returns the oldest of cursors (the zero cursor when there are none).
func OldestMessageCursor(cursors []MessageCursor) MessageCursor {
	if len(cursors) == 0 {
		return MessageCursor{}
	}
	oldest := cursors[0]
	for _, c := range cursors[1:] {
		if c.before(oldest) {
			oldest = c
		}
	}
	oldest.Upper = time.Time{}
	return oldest
}
