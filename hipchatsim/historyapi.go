package hipchatsim

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // timezone names must work on machines without a zoneinfo database
)

// recentCount is what date=recent (or no date) returns (spec §2.8.1).
const recentCount = 75

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeItems answers a history read: the envelope with items rendered from the messages. page is
// oldest first; newestFirst reverses it. The caller holds h's read lock while page is rendered.
func (c *call) writeHistory(h *history, read func() (page []*message, more bool), newestFirst bool, loc *time.Location, start, max int) {
	base := c.base()
	bp := bufPool.Get().(*[]byte)
	buf := append((*bp)[:0], `{"items":[`...)
	h.mu.RLock()
	page, more := read()
	for i := range page {
		m := page[i]
		if newestFirst {
			m = page[len(page)-1-i]
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = m.appendJSON(buf, base, loc)
	}
	h.mu.RUnlock()
	buf = append(buf, `],"links":{`...)
	if more && max > 0 {
		buf = append(buf, `"next":`...)
		buf = append(buf, marshal(c.pageURL(start+max, max))...)
		buf = append(buf, ',')
	}
	if start > 0 {
		buf = append(buf, `"prev":`...)
		buf = append(buf, marshal(c.pageURL(maxInt(start-max, 0), max))...)
		buf = append(buf, ',')
	}
	buf = append(buf, `"self":`...)
	buf = append(buf, marshal(c.selfURL())...)
	buf = append(buf, `},"maxResults":`...)
	buf = strconv.AppendInt(buf, int64(max), 10)
	buf = append(buf, `,"startIndex":`...)
	buf = strconv.AppendInt(buf, int64(start), 10)
	buf = append(buf, '}')
	writeRaw(c.w, http.StatusOK, buf)
	if cap(buf) <= 1<<20 {
		*bp = buf
		bufPool.Put(bp)
	}
}

// serveLatest is /history/latest (spec §2.8.2): max-results (default 75, 0–1000), not-before,
// include_deleted (default true), timezone.
func (c *call) serveLatest(h *history) error {
	n, err := queryInt(c.query, "max-results", recentCount, 0, 1000)
	if err != nil {
		return err
	}
	withDeleted, err := queryBool(c.query, "include_deleted", true)
	if err != nil {
		return err
	}
	loc, err := c.location()
	if err != nil {
		return err
	}
	notBefore := c.query.Get("not-before")
	c.writeHistory(h, func() ([]*message, bool) { return h.latest(n, notBefore, withDeleted), false }, false, loc, 0, n)
	return nil
}

// serveHistory is /history (spec §2.8.1). Without a date, or with date=recent, it answers the newest
// 75 messages and ignores start-index and max-results. With a date it answers the messages at or
// before date and at or after end-date (both inclusive), newest first offset by start-index and
// capped by max-results (default 100), the page oldest first unless reverse=false, and links.next
// while older messages remain.
//
// date and end-date take a full timestamp ("2018-01-10T09:35:50.702319+00:00"; without an offset
// it is read in timezone) or a bare date: as date it means the end of that day, as end-date its start
// ([GAP]). A "+" of the offset that arrived as a space (an unescaped query) is repaired. The 401 one
// client saw with timezone and end-date together is not reproduced.
func (c *call) serveHistory(h *history) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	withDeleted, err := queryBool(c.query, "include_deleted", true)
	if err != nil {
		return err
	}
	reverse, err := queryBool(c.query, "reverse", true)
	if err != nil {
		return err
	}
	loc, err := c.location()
	if err != nil {
		return err
	}
	date := c.query.Get("date")
	if date == "" || date == "recent" {
		c.writeHistory(h, func() ([]*message, bool) { return h.latest(recentCount, "", withDeleted), false },
			!reverse, loc, 0, recentCount)
		return nil
	}
	upper, err := parseHistoryDate("date", date, loc, true)
	if err != nil {
		return err
	}
	var lower *time.Time
	if end := c.query.Get("end-date"); end != "" && end != "null" {
		t, err := parseHistoryDate("end-date", end, loc, false)
		if err != nil {
			return err
		}
		lower = &t
	}
	c.writeHistory(h, func() ([]*message, bool) { return h.between(upper, lower, start, max, withDeleted) },
		!reverse, loc, start, max)
	return nil
}

// serveMessage is GET …/history/{message_id}: {"message": item} ([INFERRED] shape). A deleted message
// is 404 with include_deleted=false.
func (c *call) serveMessage(h *history) error {
	withDeleted, err := queryBool(c.query, "include_deleted", true)
	if err != nil {
		return err
	}
	loc, err := c.location()
	if err != nil {
		return err
	}
	h.mu.RLock()
	m := h.byID[c.r.PathValue("mid")]
	var item []byte
	if m != nil && (withDeleted || !m.deleted) {
		item = m.appendJSON([]byte(`{"message":`), c.base(), loc)
	}
	h.mu.RUnlock()
	if item == nil {
		return errorf(http.StatusNotFound, "Message %s not found", c.r.PathValue("mid"))
	}
	writeRaw(c.w, http.StatusOK, append(item, '}'))
	return nil
}

// location reads the timezone parameter (default UTC).
func (c *call) location() (*time.Location, error) {
	name := c.query.Get("timezone")
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	loc, err := loadLocation(name)
	if err != nil {
		return nil, invalid("timezone", "choice", name, "Parameter 'timezone' must be a supported timezone name")
	}
	return loc, nil
}

var locations sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "" || name == "Local" || strings.Contains(name, "..") {
		return nil, strconv.ErrSyntax
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// parseHistoryDate reads a date or end-date parameter; a bare date is the end of that day when
// endOfDay is set, else its start.
func parseHistoryDate(field, v string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		if endOfDay {
			return t.AddDate(0, 0, 1).Add(-time.Microsecond), nil
		}
		return t, nil
	}
	if i := strings.LastIndexByte(v, ' '); i > 10 && len(v)-i == 6 {
		v = v[:i] + "+" + v[i+1:]
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalid(field, "format", v, "Parameter '%s' must be an ISO-8601 date or timestamp", field)
}

func handleRoomHistory(c *call) error {
	_, h, err := c.roomHistory()
	if err != nil {
		return err
	}
	return c.serveHistory(h)
}

func handleRoomLatest(c *call) error {
	_, h, err := c.roomHistory()
	if err != nil {
		return err
	}
	return c.serveLatest(h)
}

func handleRoomMessage(c *call) error {
	_, h, err := c.roomHistory()
	if err != nil {
		return err
	}
	return c.serveMessage(h)
}

// chatWith returns the private chat history between the token's user and the {user} of the path,
// creating it when create is set (an empty history otherwise).
func (c *call) chatWith(create bool) (*user, *history, error) {
	lock, unlock := c.s.mu.RLock, c.s.mu.RUnlock
	if create {
		lock, unlock = c.s.mu.Lock, c.s.mu.Unlock
	}
	lock()
	defer unlock()
	other, err := c.pathUser()
	if err != nil {
		return nil, nil, err
	}
	if other.deleted {
		return nil, nil, userNotFound(c.r.PathValue("user"))
	}
	key := chatKey(c.tok.user.id, other.id)
	h := c.s.chats[key]
	if h == nil {
		h = newHistory()
		if create {
			c.s.chats[key] = h
		}
	}
	return other, h, nil
}

func chatKey(a, b int) [2]int { return [2]int{min(a, b), max(a, b)} }

func handleChatLatest(c *call) error {
	_, h, err := c.chatWith(false)
	if err != nil {
		return err
	}
	return c.serveLatest(h)
}

func handleChatMessage(c *call) error {
	_, h, err := c.chatWith(false)
	if err != nil {
		return err
	}
	return c.serveMessage(h)
}
