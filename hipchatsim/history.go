package hipchatsim

import (
	"sort"
	"sync"
	"time"
)

// history is the messages of one room or private chat, in time order; messages that share a
// timestamp keep the order they were added in (seq). Reads take the read lock only, so pollers do not
// contend with each other; each message carries its JSON ready to send.
type history struct {
	mu         sync.RWMutex
	msgs       []*message
	byID       map[string]*message
	deleted    int // how many are marked deleted; 0 lets reads skip filtering
	sent       int // messages and notifications, for statistics
	lastActive time.Time
}

func newHistory() *history { return &history{byID: make(map[string]*message)} }

// before orders messages by time, then by insertion.
func before(a, b *message) bool { return a.us < b.us || (a.us == b.us && a.seq < b.seq) }

// add inserts m in order: at the end unless the clock went backwards (or fixtures are older).
func (h *history) add(m *message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.msgs)
	if n == 0 || !before(m, h.msgs[n-1]) {
		h.msgs = append(h.msgs, m)
	} else {
		i := sort.Search(n, func(i int) bool { return before(m, h.msgs[i]) })
		h.msgs = append(h.msgs, nil)
		copy(h.msgs[i+1:], h.msgs[i:])
		h.msgs[i] = m
	}
	h.byID[m.id] = m
	if m.deleted {
		h.deleted++
	}
	if m.kind != "topic" {
		h.sent++
	}
	if m.at.After(h.lastActive) {
		h.lastActive = m.at
	}
}

// index returns m's position; h.mu is held.
func (h *history) index(m *message) int {
	return sort.Search(len(h.msgs), func(i int) bool { return !before(h.msgs[i], m) })
}

// markDeleted marks a message deleted; false when the history has no such message.
func (h *history) markDeleted(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.byID[id]
	if m == nil {
		return false
	}
	if !m.deleted {
		m.deleted = true
		h.deleted++
	}
	return true
}

// stats returns messages_sent and last_active (null before the first message) of statistics.
func (h *history) stats() (int, any) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.lastActive.IsZero() {
		return h.sent, nil
	}
	return h.sent, formatSeconds(h.lastActive)
}

// visible returns msgs without the deleted ones unless withDeleted; h.mu is held.
func (h *history) visible(msgs []*message, withDeleted bool) []*message {
	if withDeleted || h.deleted == 0 {
		return msgs
	}
	out := make([]*message, 0, len(msgs))
	for _, m := range msgs {
		if !m.deleted {
			out = append(out, m)
		}
	}
	return out
}

// latest is /history/latest (spec §2.8.2): the newest n messages, oldest first. With notBefore naming
// a message of this history, nothing older than it is returned; that message itself is returned only
// when it is among the newest n, so a client that misses it knows it has a gap. An unknown notBefore
// is ignored ([GAP] spec §6.4): the answer is the newest n, in which the client does not find the id
// and so sees a gap, which is the safe reading. h.mu is held.
func (h *history) latest(n int, notBefore string, withDeleted bool) []*message {
	msgs := h.msgs
	if m := h.byID[notBefore]; notBefore != "" && m != nil {
		msgs = msgs[h.index(m):]
	}
	if withDeleted || h.deleted == 0 {
		return msgs[max(len(msgs)-n, 0):]
	}
	out := make([]*message, 0, min(n, len(msgs)))
	for i := len(msgs) - 1; i >= 0 && len(out) < n; i-- {
		if !msgs[i].deleted {
			out = append(out, msgs[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// between is /history with a date (spec §2.8.1): the messages dated at or before upper and, unless
// lower is nil, at or after lower (both bounds inclusive, [GAP]), counted newest first: start of them
// are skipped and at most n taken. The page is returned oldest first; more reports that older
// messages in the range remain. h.mu is held.
func (h *history) between(upper time.Time, lower *time.Time, start, n int, withDeleted bool) (page []*message, more bool) {
	hiUs := upper.UnixMicro()
	hi := sort.Search(len(h.msgs), func(i int) bool { return h.msgs[i].us > hiUs })
	lo := 0
	if lower != nil {
		loUs := lower.UnixMicro()
		lo = sort.Search(hi, func(i int) bool { return h.msgs[i].us >= loUs })
	}
	window := h.visible(h.msgs[lo:hi], withDeleted)
	if start >= len(window) {
		return nil, false
	}
	end := len(window) - start
	begin := max(end-n, 0)
	return window[begin:end], begin > 0
}
