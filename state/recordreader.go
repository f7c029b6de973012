package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

var errTruncated = errors.New("truncated record")

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

// finish is the reader's error, or one for bytes left after the record.
func (r *recordReader) finish() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d bytes after the record", len(r.b))
	}
	return nil
}
