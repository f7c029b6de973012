package hipchatsim

import (
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// dateFormat is HipChat's message date: microseconds and a numeric offset,
// "2018-01-10T09:35:50.702319+00:00" (spec §1.9).
const dateFormat = "2006-01-02T15:04:05.000000-07:00"

func formatDate(t time.Time) string { return t.Format(dateFormat) }

// A template is a message's JSON with two holes: the base URL (scheme and host of the request, so
// links point at the emulator whatever address it was reached at) and the date (rendered in the
// requested timezone).
type template []chunk

type chunk struct {
	lit  string
	hole hole
}

type hole uint8

const (
	holeNone hole = iota
	holeBase
	holeDate
)

func (t template) render(dst []byte, base, date string) []byte {
	for _, c := range t {
		switch c.hole {
		case holeBase:
			dst = append(dst, base...)
		case holeDate:
			dst = append(dst, '"')
			dst = append(dst, date...)
			dst = append(dst, '"')
		default:
			dst = append(dst, c.lit...)
		}
	}
	return dst
}

// templateBuilder writes JSON with holes.
type templateBuilder struct {
	chunks []chunk
	cur    []byte
}

func (b *templateBuilder) raw(s string)      { b.cur = append(b.cur, s...) }
func (b *templateBuilder) rawBytes(s []byte) { b.cur = append(b.cur, s...) }
func (b *templateBuilder) str(s string)      { b.cur = append(b.cur, marshal(s)...) }
func (b *templateBuilder) key(k string)      { b.raw(`"` + k + `":`) }

func (b *templateBuilder) hole(h hole) {
	if len(b.cur) > 0 {
		b.chunks = append(b.chunks, chunk{lit: string(b.cur)})
		b.cur = b.cur[:0]
	}
	b.chunks = append(b.chunks, chunk{hole: h})
}

// link writes a URL string made of the base and an absolute path (already path-escaped).
func (b *templateBuilder) link(path string) {
	b.raw(`"`)
	b.hole(holeBase)
	b.rawBytes(marshal(path)[1:])
}

func (b *templateBuilder) done() template {
	if len(b.cur) > 0 {
		b.chunks = append(b.chunks, chunk{lit: string(b.cur)})
	}
	return b.chunks
}

// userStub is a message author or mention as it was when the message was posted.
type userStub struct {
	id                     int
	mention, name, version string
}

func stubOf(u *user) userStub {
	return userStub{id: u.id, mention: u.mention, name: u.name, version: u.version}
}

func (b *templateBuilder) stub(u userStub) {
	b.raw(`{"id":` + strconv.Itoa(u.id) + `,"links":{"self":`)
	b.link("/v2/user/" + strconv.Itoa(u.id))
	b.raw(`},"mention_name":`)
	b.str(u.mention)
	b.raw(`,"name":`)
	b.str(u.name)
	b.raw(`,"version":`)
	b.str(u.version)
	b.raw(`}`)
}

// post is what a message is made of, before it becomes JSON.
type post struct {
	kind     string    // message, notification or topic
	from     *userStub // people; nil for notifications
	label    string    // notifications: the from label
	text     string
	format   string  // notifications: html or text
	color    *string // notifications; nil renders null
	card     string  // notifications: the card object as a JSON string, as HipChat sent it
	attachTo string
	sender   []byte // notifications from add-ons: notification_sender JSON
	mentions []userStub
	file     *storedFile
	fileID   string // set for a secure share: rendered as authenticated_file {id, name, size}
	links    []byte // message_links JSON (shared links)
}

// message is one history item with its JSON prepared for the live and the deleted rendering.
type message struct {
	id      string
	seq     uint64
	at      time.Time // UTC, microseconds
	us      int64     // at in Unix microseconds, for ordering
	kind    string
	deleted bool // guarded by the history's lock

	live, gone template
	// cached UTC renderings for the last base URL seen
	liveUTC, goneUTC atomic.Pointer[rendering]
}

type rendering struct {
	base string
	json []byte
}

// newMessage makes the message for p at time at with the given id and sequence number.
func newMessage(id string, seq uint64, at time.Time, p post) *message {
	at = at.UTC().Truncate(time.Microsecond)
	return &message{id: id, seq: seq, at: at, us: at.UnixMicro(), kind: p.kind,
		live: p.template(id, false), gone: p.template(id, true)}
}

// template builds the item JSON with keys in sorted order, as HipChat's server sent them (spec §3.1).
// A deleted message keeps its envelope but loses its body: message is null, and file, card and links
// are left out.
func (p post) template(id string, deleted bool) template {
	var b templateBuilder
	b.raw("{")
	if p.attachTo != "" {
		b.key("attach_to")
		b.str(p.attachTo)
		b.raw(",")
	}
	if p.file != nil && p.fileID != "" && !deleted {
		b.raw(`"authenticated_file":{"id":`)
		b.str(p.fileID)
		b.raw(`,"name":`)
		b.str(p.file.name)
		b.raw(`,"size":` + strconv.Itoa(len(p.file.data)) + `},`)
	}
	if p.card != "" && !deleted {
		b.key("card")
		b.str(p.card)
		b.raw(",")
	}
	if p.kind == "notification" {
		b.key("color")
		if p.color == nil {
			b.raw("null")
		} else {
			b.str(*p.color)
		}
		b.raw(",")
	}
	b.key("date")
	b.hole(holeDate)
	b.raw(",")
	if p.file != nil && p.fileID == "" && !deleted {
		b.raw(`"file":{"name":`)
		b.str(p.file.name)
		b.raw(`,"size":` + strconv.Itoa(len(p.file.data)) + `,`)
		if p.file.isImage() {
			b.key("thumb_url")
			b.link(p.file.path())
			b.raw(",")
		}
		b.key("url")
		b.link(p.file.path())
		b.raw("},")
	}
	b.key("from")
	if p.from != nil {
		b.stub(*p.from)
	} else {
		b.str(p.label)
	}
	b.raw(",")
	b.key("id")
	b.str(id)
	b.raw(`,"mentions":[`)
	for i, m := range p.mentions {
		if i > 0 {
			b.raw(",")
		}
		b.stub(m)
	}
	b.raw("],")
	b.key("message")
	if deleted {
		b.raw("null")
	} else {
		b.str(p.text)
	}
	if p.format != "" {
		b.raw(`,"message_format":`)
		b.str(p.format)
	}
	if len(p.links) > 0 && !deleted {
		b.raw(`,"message_links":`)
		b.rawBytes(p.links)
	}
	if len(p.sender) > 0 {
		b.raw(`,"notification_sender":`)
		b.rawBytes(p.sender)
	}
	b.raw(`,"type":`)
	b.str(p.kind)
	b.raw("}")
	return b.done()
}

// appendJSON appends the message's JSON for base in loc; the caller holds the history's read lock.
func (m *message) appendJSON(dst []byte, base string, loc *time.Location) []byte {
	t, cache := m.live, &m.liveUTC
	if m.deleted {
		t, cache = m.gone, &m.goneUTC
	}
	if loc != time.UTC {
		return t.render(dst, base, formatDate(m.at.In(loc)))
	}
	if r := cache.Load(); r != nil && r.base == base {
		return append(dst, r.json...)
	}
	r := &rendering{base: base, json: t.render(nil, base, formatDate(m.at))}
	cache.Store(r)
	return append(dst, r.json...)
}

// fileLinkPath is the path under which the emulator serves a stored file.
func fileLinkPath(id, name string) string { return "/_sim/files/" + id + "/" + url.PathEscape(name) }
