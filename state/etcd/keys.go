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

func (s *Store) dueKey(at time.Time, seq uint64, id string) string {
	return s.key(dirDue + timeHex(at) + "/" + hex16(seq) + "/" + esc(id))
}

func (s *Store) endpointKey(key string) string { return s.key(dirEndpoints + esc(key)) }

// parseDueKey splits a due key (with the prefix) into the seq and the
// subscription id it names. Errors: a key that is not three parts, or whose
// time or seq is not 16 hex digits, or whose id does not unescape.
func (s *Store) parseDueKey(k string) (seq uint64, subID string, err error) {
	parts := strings.SplitN(strings.TrimPrefix(k, s.key(dirDue)), "/", 3)
	if len(parts) != 3 {
		return 0, "", fmt.Errorf("malformed due key %q", k)
	}
	if _, err = parseTimeHex(parts[0]); err != nil {
		return 0, "", fmt.Errorf("due key %q: %w", k, err)
	}
	if seq, err = parseHex16(parts[1]); err != nil {
		return 0, "", fmt.Errorf("due key %q: %w", k, err)
	}
	if subID, err = unesc(parts[2]); err != nil {
		return 0, "", fmt.Errorf("due key %q: %w", k, err)
	}
	return seq, subID, nil
}

// seqOfKey is the seq at the end of a log or pending key.
func seqOfKey(k string) (uint64, error) {
	i := strings.LastIndexByte(k, '/')
	return parseHex16(k[i+1:])
}
