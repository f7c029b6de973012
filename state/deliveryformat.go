package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The stored form of a DeliveryRecord since bbolt schema version 5: a format byte, then the
// fields in this order, every length and number a varint.
//
//	format (deliveryFormatV5)
//	flags                                        byte (below)
//	status                                       byte: pending, delivered, dead, or other
//	text: length, bytes                          the record's text (below)
//	round attempts                               uvarint
//	created at                                   time (as version 4 writes one)
//	queued at, unless flagQueuedAtCreated        relative time (below)
//	next attempt at                              relative time
//	delivered at, unless flagDeliveredAtLast     relative time
//	attempts: count, then each                   uvarint
//	  at, status code, error, duration           relative time, varint, string, varint (ns)
//
// The text holds the record's strings and its payload: the id (only without flagDerivedID: an id
// that is DeliveryID of the subscription and the event, as every id the connector makes, is
// computed again when read), the event id, the type, the catch-up note and, for status other, the
// status (each length, bytes), then the payload to its end. With flagCompressed it is compressed
// (deliverytext.go): a HipChat message's JSON shrinks to about half, its event id (which the
// payload repeats) to a few bytes. The payload is compressed when the delivery is queued, so its
// record keeps its size when it is delivered: the page it shares with the deliveries queued beside
// it stays as full as it was written.
//
// A relative time is 0 for the zero time, 1 and a time as version 4 writes one, or 2 plus the
// zigzag encoding of its nanoseconds after created at (a few bytes for an attempt milliseconds or
// hours after it). Read back, every time is in UTC.
const deliveryFormatV5 byte = 2

// Flags of the version-5 form.
const (
	flagDerivedID         byte = 1 << iota // the id is DeliveryID(subscription, event id), not stored
	flagRawPayload                         // the payload is not JSON (DeliveryRecord.Payload)
	flagCompressed                         // the text is compressed
	flagQueuedAtCreated                    // queued at is created at
	flagDeliveredAtLast                    // delivered at is the last attempt's time
	textFlags                  = flagDerivedID | flagRawPayload | flagCompressed
	deliveryFormatV5Flags      = textFlags | flagQueuedAtCreated | flagDeliveredAtLast
	statusCodeOther       byte = 3
)

// statusCodes are the statuses of the version-5 form's status byte; any other is stored in the text.
var statusCodes = map[string]byte{DeliveryPending: 0, DeliveryDelivered: 1, DeliveryDead: 2}

var statusOfCode = [...]string{DeliveryPending, DeliveryDelivered, DeliveryDead}

// packedText is a record's text as it was read, kept with the decoded record: encoding the record
// again (an attempt recorded, a resend) reuses it while the strings and payload it holds are
// unchanged, so that a delivery's text is compressed once, when it is queued.
type packedText struct {
	flags                          byte // its text flags
	block                          []byte
	id, eventID, typ, note, status string
	otherStatus                    bool // status is in the text
	payload                        []byte
}

// matches reports whether p holds rec's text (with its status when otherStatus).
func (p *packedText) matches(rec *DeliveryRecord, otherStatus bool) bool {
	return p.id == rec.ID && p.eventID == rec.EventID && p.typ == rec.Type && p.note == rec.CatchUpNote &&
		p.otherStatus == otherStatus && (!otherStatus || p.status == rec.Status) &&
		(p.flags&flagRawPayload != 0) == (rec.Body == nil) && bytes.Equal(p.payload, rec.payloadBytes())
}

// payloadBytes is the record's payload, JSON or not.
func (rec *DeliveryRecord) payloadBytes() []byte {
	if rec.Body != nil {
		return rec.Body
	}
	return rec.Payload
}

// EncodeDeliveryRecord returns the stored form of rec, delivery of subscription subID: the bbolt
// store's.
func EncodeDeliveryRecord(subID string, rec *DeliveryRecord) []byte {
	code, ok := statusCodes[rec.Status]
	if !ok {
		code = statusCodeOther
	}
	flags, block := packText(subID, rec, !ok)
	if rec.QueuedAt.Equal(rec.CreatedAt) {
		flags |= flagQueuedAtCreated
	}
	n := len(rec.Attempts)
	if n > 0 && !rec.DeliveredAt.IsZero() && rec.DeliveredAt.Equal(rec.Attempts[n-1].At) {
		flags |= flagDeliveredAtLast
	}
	b := make([]byte, 0, 48+len(block)+24*n)
	b = append(b, deliveryFormatV5, flags, code)
	b = binary.AppendUvarint(b, uint64(len(block)))
	b = append(b, block...)
	b = binary.AppendUvarint(b, uint64(max(rec.RoundAttempts, 0))) // #nosec G115 -- not negative
	b = appendTime(b, rec.CreatedAt)
	if flags&flagQueuedAtCreated == 0 {
		b = appendRelTime(b, rec.QueuedAt, rec.CreatedAt)
	}
	b = appendRelTime(b, rec.NextAttemptAt, rec.CreatedAt)
	if flags&flagDeliveredAtLast == 0 {
		b = appendRelTime(b, rec.DeliveredAt, rec.CreatedAt)
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, a := range rec.Attempts {
		b = appendRelTime(b, a.At, rec.CreatedAt)
		b = binary.AppendVarint(b, int64(a.StatusCode))
		b = appendString(b, a.Error)
		b = binary.AppendVarint(b, int64(a.Duration))
	}
	return b
}

// Pack compresses rec's text now, for the delivery of subscription subID, so that
// EncodeDeliveryRecord later reuses it: a store calls it before the transaction that writes rec.
func (rec *DeliveryRecord) Pack(subID string) {
	_, otherStatus := statusCodes[rec.Status]
	otherStatus = !otherStatus
	flags, block := packText(subID, rec, otherStatus)
	rec.packed = &packedText{flags: flags, block: block, id: rec.ID, eventID: rec.EventID, typ: rec.Type,
		note: rec.CatchUpNote, status: rec.Status, otherStatus: otherStatus, payload: rec.payloadBytes()}
}

// packText returns rec's text flags and its text as stored (with its status when otherStatus):
// the text it was read with when that still holds, else made and compressed now.
func packText(subID string, rec *DeliveryRecord, otherStatus bool) (byte, []byte) {
	if p := rec.packed; p != nil && p.matches(rec, otherStatus) {
		return p.flags, p.block
	}
	var flags byte
	if rec.Body == nil {
		flags |= flagRawPayload
	}
	payload := rec.payloadBytes()
	text := make([]byte, 0, 64+len(rec.ID)+len(rec.EventID)+len(rec.Type)+len(rec.CatchUpNote)+len(payload))
	if rec.EventID != "" && rec.ID == DeliveryID(subID, rec.EventID) {
		flags |= flagDerivedID
	} else {
		text = appendString(text, rec.ID)
	}
	for _, s := range []string{rec.EventID, rec.Type, rec.CatchUpNote} {
		text = appendString(text, s)
	}
	if otherStatus {
		text = appendString(text, rec.Status)
	}
	text = append(text, payload...)
	if compressed, ok := compressText(text); ok {
		return flags | flagCompressed, compressed
	}
	return flags, text
}

// DecodeDeliveryRecord decodes the stored form of a record of subscription subID that
// EncodeDeliveryRecord wrote, or the version-4 form. Everything is copied out of v, which may point
// into a bbolt page. Errors: a record in neither form, or damaged.
func DecodeDeliveryRecord(subID string, v []byte) (*DeliveryRecord, error) {
	switch {
	case len(v) > 0 && v[0] == deliveryFormatV5:
		return decodeDeliveryRecordV5(subID, v[1:])
	case len(v) > 0 && v[0] == deliveryFormatV4:
		return decodeDeliveryRecordV4(v[1:])
	}
	return nil, errors.New("unknown record format")
}

func decodeDeliveryRecordV5(subID string, v []byte) (*DeliveryRecord, error) {
	r := recordReader{b: v}
	flags, code := r.byte(), r.byte()
	block := r.bytes()
	rec := &DeliveryRecord{RoundAttempts: r.int(), CreatedAt: r.time()}
	rec.QueuedAt = rec.CreatedAt
	if flags&flagQueuedAtCreated == 0 {
		rec.QueuedAt = r.relTime(rec.CreatedAt)
	}
	rec.NextAttemptAt = r.relTime(rec.CreatedAt)
	if flags&flagDeliveredAtLast == 0 {
		rec.DeliveredAt = r.relTime(rec.CreatedAt)
	}
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) { // each attempt takes at least one byte
			return nil, errTruncated
		}
		rec.Attempts = make([]Attempt, n)
		for i := range rec.Attempts {
			a := &rec.Attempts[i]
			a.At = r.relTime(rec.CreatedAt)
			a.StatusCode = int(r.varint())
			a.Error = r.string()
			a.Duration = time.Duration(r.varint())
		}
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	switch {
	case flags&^deliveryFormatV5Flags != 0:
		return nil, fmt.Errorf("unknown flags %#x", flags)
	case code > statusCodeOther:
		return nil, fmt.Errorf("unknown status code %d", code)
	case flags&flagDeliveredAtLast != 0 && len(rec.Attempts) == 0:
		return nil, errors.New("delivered at the last attempt, without attempts")
	case flags&flagDeliveredAtLast != 0:
		rec.DeliveredAt = rec.Attempts[len(rec.Attempts)-1].At
	}
	if code != statusCodeOther {
		rec.Status = statusOfCode[code]
	}
	return rec, unpackText(subID, rec, flags&textFlags, code == statusCodeOther, block)
}

// unpackText fills rec's strings and payload from its stored text, and keeps the text for
// packText.
func unpackText(subID string, rec *DeliveryRecord, flags byte, otherStatus bool, block []byte) error {
	text := block
	if flags&flagCompressed != 0 {
		var err error
		if text, err = decompressText(block); err != nil {
			return err
		}
	}
	r := recordReader{b: text}
	if flags&flagDerivedID == 0 {
		rec.ID = r.string()
	}
	rec.EventID, rec.Type, rec.CatchUpNote = r.string(), r.string(), r.string()
	if otherStatus {
		rec.Status = r.string()
	}
	if r.err != nil {
		return fmt.Errorf("text: %w", r.err)
	}
	if flags&flagDerivedID != 0 {
		if rec.EventID == "" {
			return errors.New("a derived id without an event id")
		}
		rec.ID = DeliveryID(subID, rec.EventID)
	}
	payload := r.b
	if len(payload) == 0 {
		payload = nil
	}
	if flags&flagRawPayload != 0 {
		rec.Payload = payload
	} else {
		rec.Body = payload
	}
	rec.packed = &packedText{flags: flags, block: block, id: rec.ID, eventID: rec.EventID, typ: rec.Type,
		note: rec.CatchUpNote, status: rec.Status, otherStatus: otherStatus, payload: payload}
	return nil
}

// The span of years whose times a relative time holds as nanoseconds after another: any two are
// less than 2^63 ns apart.
const (
	relTimeFirstYear = 1900
	relTimeLastYear  = 2100
)

func appendRelTime(b []byte, t, base time.Time) []byte {
	switch {
	case t.IsZero():
		return append(b, 0)
	case inRelSpan(t) && inRelSpan(base):
		d := t.UnixNano() - base.UnixNano()
		return binary.AppendUvarint(b, 2+uint64((d<<1)^(d>>63))) // #nosec G115 -- zigzag: the bits of d, sign last
	}
	return appendTime(append(b, 1), t)
}

func inRelSpan(t time.Time) bool {
	return !t.IsZero() && t.Year() >= relTimeFirstYear && t.Year() <= relTimeLastYear
}

// relTime reads a relative time after base.
func (r *recordReader) relTime(base time.Time) time.Time {
	v := r.uvarint()
	switch {
	case v == 0 || r.err != nil:
		return time.Time{}
	case v == 1:
		return r.time()
	case !inRelSpan(base):
		r.err = errors.New("a relative time after a time out of its span")
		return time.Time{}
	}
	z := v - 2
	d := int64(z>>1) ^ -int64(z&1) // #nosec G115 -- zigzag decoding
	return time.Unix(0, base.UnixNano()+d).UTC()
}
