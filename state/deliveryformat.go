package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The stored form of a DeliveryRecord since schema version 4: a format byte, then the fields in
// this order, every length and number a varint.
//
//	format (deliveryFormatV4)
//	id, event id, type, catch-up note, status        strings: length, bytes
//	payload kind (payloadJSON, payloadRaw), payload  byte; length, bytes
//	round attempts                                   uvarint
//	next attempt, created, delivered, queued at      times (below)
//	attempts: count, then each                       uvarint
//	  at, status code, error, duration               time, varint, string, varint (ns)
//
// A time is 0 for the zero time, else its nanoseconds + 1 (uvarint) and its Unix seconds
// (varint), read back in UTC. Recording an attempt decodes and encodes a record; in JSON, as
// version 3 stored it, that was a third of the cost of the transaction beside its pages.
const deliveryFormatV4 byte = 1

// Payload kinds: a JSON body (DeliveryRecord.Body), or bytes that are not JSON, kept as they came
// (DeliveryRecord.Payload).
const (
	payloadJSON byte = 0
	payloadRaw  byte = 1
)

var errTruncated = errors.New("truncated record")

// EncodeDeliveryRecord returns the binary form of rec, the bbolt store's stored form.
func EncodeDeliveryRecord(rec *DeliveryRecord) []byte {
	payload, kind := []byte(rec.Body), payloadJSON
	if rec.Body == nil {
		payload, kind = rec.Payload, payloadRaw
	}
	b := make([]byte, 0, 96+len(rec.ID)+len(rec.EventID)+len(rec.Type)+len(rec.CatchUpNote)+len(payload)+32*len(rec.Attempts))
	b = append(b, deliveryFormatV4)
	for _, s := range []string{rec.ID, rec.EventID, rec.Type, rec.CatchUpNote, rec.Status} {
		b = appendString(b, s)
	}
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	b = append(b, payload...)
	b = binary.AppendUvarint(b, uint64(max(rec.RoundAttempts, 0))) // #nosec G115 -- not negative
	for _, t := range []time.Time{rec.NextAttemptAt, rec.CreatedAt, rec.DeliveredAt, rec.QueuedAt} {
		b = appendTime(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(rec.Attempts)))
	for _, a := range rec.Attempts {
		b = appendTime(b, a.At)
		b = binary.AppendVarint(b, int64(a.StatusCode))
		b = appendString(b, a.Error)
		b = binary.AppendVarint(b, int64(a.Duration))
	}
	return b
}

// DecodeDeliveryRecord decodes the binary form EncodeDeliveryRecord wrote. Everything is copied
// out of v, which may point into a bbolt page. Errors: a record that is not in the version-4 form.
func DecodeDeliveryRecord(v []byte) (*DeliveryRecord, error) {
	if len(v) == 0 || v[0] != deliveryFormatV4 {
		return nil, errors.New("unknown record format")
	}
	r := recordReader{b: v[1:]}
	rec := &DeliveryRecord{
		ID: r.string(), EventID: r.string(), Type: r.string(), CatchUpNote: r.string(), Status: r.string(),
	}
	kind := r.byte()
	payload := r.bytes()
	switch {
	case kind == payloadJSON:
		rec.Body = payload
	case kind == payloadRaw:
		rec.Payload = payload
	case r.err == nil:
		r.err = fmt.Errorf("unknown payload kind %d", kind)
	}
	rec.RoundAttempts = r.int()
	rec.NextAttemptAt, rec.CreatedAt, rec.DeliveredAt, rec.QueuedAt = r.time(), r.time(), r.time(), r.time()
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) { // each attempt takes at least one byte
			return nil, errTruncated
		}
		rec.Attempts = make([]Attempt, n)
		for i := range rec.Attempts {
			a := &rec.Attempts[i]
			a.At = r.time()
			a.StatusCode = int(r.varint())
			a.Error = r.string()
			a.Duration = time.Duration(r.varint())
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the record", len(r.b))
	}
	return rec, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(t.Nanosecond())+1) // #nosec G115 -- Nanosecond is in [0, 1e9)
	return binary.AppendVarint(b, t.Unix())
}

// recordReader reads the fields of a stored record in order; the first error sticks and every
// later read returns a zero value.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }

func (r *recordReader) varint() int64 { return readVarint(r, binary.Varint) }

// readVarint reads one number with decode (binary.Uvarint or binary.Varint).
func readVarint[T uint64 | int64](r *recordReader, decode func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	v, n := decode(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) int() int {
	v := r.uvarint()
	if v > uint64(maxStoredInt) {
		r.err = fmt.Errorf("number %d out of range", v)
		return 0
	}
	return int(v)
}

// maxStoredInt bounds the counts a record holds (attempts in a round).
const maxStoredInt = 1 << 31

func (r *recordReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errTruncated
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns a copy of the next length-prefixed field, nil when it is empty.
func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return nil
	}
	var out []byte
	if n > 0 {
		out = bytes.Clone(r.b[:n])
	}
	r.b = r.b[n:]
	return out
}

func (r *recordReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *recordReader) time() time.Time {
	nanos := r.uvarint()
	if nanos == 0 || r.err != nil {
		return time.Time{}
	}
	if nanos > 1e9 {
		r.err = fmt.Errorf("nanoseconds %d out of range", nanos-1)
		return time.Time{}
	}
	return time.Unix(r.varint(), int64(nanos-1)).UTC() // #nosec G115 -- checked just above: below 1e9
}
