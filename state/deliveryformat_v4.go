package state

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The stored form of a DeliveryRecord in bbolt schema version 4, which the version-5 migration
// reads (and DecodeDeliveryRecord still does): a format byte, then the fields in this order, every
// length and number a varint.
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
// (varint), read back in UTC.
const deliveryFormatV4 byte = 1

// Payload kinds of the version-4 form: a JSON body (DeliveryRecord.Body), or bytes that are not
// JSON, kept as they came (DeliveryRecord.Payload).
const (
	payloadJSON byte = 0
	payloadRaw  byte = 1
)

// encodeDeliveryRecordV4 is the version-4 form of rec: what a version-4 file holds, for the tests
// of the migration that reads it.
func encodeDeliveryRecordV4(rec *DeliveryRecord) []byte {
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

// decodeDeliveryRecordV4 decodes the version-4 form, v without its format byte.
func decodeDeliveryRecordV4(v []byte) (*DeliveryRecord, error) {
	r := recordReader{b: v}
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
	return rec, r.finish()
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
