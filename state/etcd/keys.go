package etcd

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Keys of the layout (store.go), each under the prefix.

func esc(id string) string { return url.PathEscape(id) }

func unesc(s string) (string, error) { return url.PathUnescape(s) }

func hex16(v uint64) string { return fmt.Sprintf("%016x", v) }

func parseHex16(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("malformed number %q", s)
	}
	return strconv.ParseUint(s, 16, 64)
}

func timeHex(t time.Time) string { return hex16(uint64(t.UnixNano())) }

func parseTimeHex(s string) (time.Time, error) {
	v, err := parseHex16(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, int64(v)).UTC(), nil // #nosec G115 -- the key was written from an int64 (UnixNano); it round-trips
}

func (s *Store) subscriptionKey(id string) string { return s.key(dirSubscriptions + esc(id)) }

func (s *Store) connectionDir(conn string) string { return s.key(dirConnections + esc(conn) + "/") }

func (s *Store) connectionKey(conn, id string) string { return s.connectionDir(conn) + esc(id) }

func (s *Store) outboxKey(id string) string { return s.key(dirOutbox + esc(id)) }

func (s *Store) logDir(id string) string { return s.key(dirLog + esc(id) + "/") }

func (s *Store) logKey(id string, seq uint64) string { return s.logDir(id) + hex16(seq) }

func (s *Store) idsDir(id string) string { return s.key(dirIDs + esc(id) + "/") }

func (s *Store) idKey(id, deliveryID string) string { return s.idsDir(id) + esc(deliveryID) }

func (s *Store) pendingDir(id string) string { return s.key(dirPending + esc(id) + "/") }

func (s *Store) pendingKey(id string, seq uint64) string { return s.pendingDir(id) + hex16(seq) }

func (s *Store) endpointKey(key string) string { return s.key(dirEndpoints + esc(key)) }

// readyDir is the directory of subscription id's entries in ready/ (what may go out, by time).
func (s *Store) readyDir(id string) string { return s.key(dirReady + esc(id) + "/") }

// readyKey is the ready/ key of delivery seq of subscription id, due at at.
func (s *Store) readyKey(id string, at time.Time, seq uint64) string {
	return s.readyDir(id) + timeHex(at) + "/" + hex16(seq)
}

// readyFrom is where a listing reads subscription id's ready entries from, given its heads/ entry
// at: the entry's own time, not the start of its ready/ keys. etcd keeps every deleted key (each
// delivered entry) in its index until a compaction, and a range walks those in its span: from the
// head there are none before the earliest entry. An entry made earlier than the head after the
// heads were read is not missed, only left to the next listing: the transaction that made it moved
// the subscription's head to it.
func (s *Store) readyFrom(id string, at time.Time) string { return s.readyDir(id) + timeHex(at) }

// readyEnd is the end of the range of subscription id's entries due at or before now.
func (s *Store) readyEnd(id string, now time.Time) string {
	return s.readyDir(id) + hex16(uint64(now.UnixNano())+1) // #nosec G115 -- a time after 1970, as every key's
}

// parseReadyKey splits a ready/ key under dir (readyDir) into its time and seq. Errors: a key not
// under dir, or whose time or seq is not 16 hex digits.
func parseReadyKey(dir, k string) (at time.Time, seq uint64, err error) {
	rest, ok := strings.CutPrefix(k, dir)
	if !ok || len(rest) != 33 || rest[16] != '/' {
		return time.Time{}, 0, fmt.Errorf("malformed ready key %q", k)
	}
	if at, err = parseTimeHex(rest[:16]); err != nil {
		return time.Time{}, 0, fmt.Errorf("ready key %q: %w", k, err)
	}
	if seq, err = parseHex16(rest[17:]); err != nil {
		return time.Time{}, 0, fmt.Errorf("ready key %q: %w", k, err)
	}
	return at, seq, nil
}

// headKey is the heads/ key of subscription id whose earliest entry in ready/ is due at at.
func (s *Store) headKey(at time.Time, id string) string {
	return s.key(dirHeads + timeHex(at) + "/" + esc(id))
}

// parseHeadKey splits a heads/ key (with the prefix) into its time and subscription id. Errors: a
// key that is not two parts, whose time is not 16 hex digits, or whose id does not unescape.
func (s *Store) parseHeadKey(k string) (at time.Time, subID string, err error) {
	timePart, idPart, ok := strings.Cut(strings.TrimPrefix(k, s.key(dirHeads)), "/")
	if !ok {
		return time.Time{}, "", fmt.Errorf("malformed head key %q", k)
	}
	if at, err = parseTimeHex(timePart); err != nil {
		return time.Time{}, "", fmt.Errorf("head key %q: %w", k, err)
	}
	if subID, err = unesc(idPart); err != nil {
		return time.Time{}, "", fmt.Errorf("head key %q: %w", k, err)
	}
	return at, subID, nil
}

// seqOfKey is the seq at the end of a log or pending key.
func seqOfKey(k string) (uint64, error) {
	i := strings.LastIndexByte(k, '/')
	return parseHex16(k[i+1:])
}
