package poller

import (
	"encoding/json"
	"time"
)

// announcement is the message a doorbell's payload names: HipChat's room webhook body carries it as
// item.message with its id and date (room_message, room_notification, room_file_upload alike).
type announcement struct {
	id   string
	date time.Time
}

// announcedMessage reads the message a doorbell's payload announces; false when the payload names
// none (or is not JSON), and the doorbell then reads the feed. The payload is never taken as the
// event: it only lets a doorbell for a message already passed cost nothing.
func announcedMessage(payload []byte) (announcement, bool) {
	var body struct {
		Item struct {
			Message struct {
				ID   string `json:"id"`
				Date string `json:"date"`
			} `json:"message"`
		} `json:"item"`
	}
	if len(payload) == 0 || json.Unmarshal(payload, &body) != nil {
		return announcement{}, false
	}
	m := body.Item.Message
	date, err := time.Parse(time.RFC3339Nano, m.Date) // HipChat's message dates, as connector reads them
	if m.ID == "" || err != nil {
		return announcement{}, false
	}
	return announcement{id: m.ID, date: date}, true
}

// passedLocked reports whether every subscription of feed key has passed the announced message: its
// date is before each one's cursor, or it is the message at a cursor. A subscription without a
// cursor yet (baseline) has passed nothing.
func (p *Poller) passedLocked(key feedKey, ann announcement) bool {
	f := p.feedLocked(key)
	if f == nil || len(f.subs) == 0 {
		return false
	}
	for _, w := range f.subs {
		if w.baseline {
			return false
		}
		c := w.msg
		if ann.date.After(c.Date) || (ann.date.Equal(c.Date) && ann.id != c.LastID) {
			return false
		}
	}
	return true
}
