package bolt

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// dueListing walks what is due at now in one read transaction: heads/ in time order brings in each
// subscription with due work (when wanted: its picker takes it and it is active), and a merge of their entries in due/ gives the
// deliveries in the order of the version-5 index — due time, then seq, then subscription key — so
// the longest-waiting goes first whatever its subscription. A subscription is brought in only when
// its head could come next, so a listing that stops early never reads the later ones.
type dueListing struct {
	now     time.Time
	due     *bbolt.Bucket
	heads   *bbolt.Cursor
	seeker  *bbolt.Cursor // finds the first entry of a subscription brought in
	headKey []byte        // the next head not brought in yet; nil when none is left up to now
	streams dueStreams
	wanted  func(subID string) (bool, error) // the picker takes the subscription and it is active
}

// dueStream is one subscription's entries in due/ as the listing walks them: its current entry is
// (at, seq). It gets a cursor of its own only when the listing goes on past its first entry: most
// subscriptions a listing brings in are passed over as a whole.
type dueStream struct {
	subID  string
	prefix []byte
	cursor *bbolt.Cursor
	at     time.Time
	seq    uint64
}

func newDueListing(tx *bbolt.Tx, now time.Time, wanted func(subID string) (bool, error)) *dueListing {
	x := openDueIndex(tx)
	l := &dueListing{now: now, due: x.due, heads: x.heads.Cursor(), seeker: x.due.Cursor(), wanted: wanted}
	k, _ := l.heads.First()
	l.setHead(k)
	return l
}

// setHead makes k the next head to bring in, unless it is nil or due after now.
func (l *dueListing) setHead(k []byte) {
	l.headKey = nil
	if len(k) > 8 && !valueTime(k[:8]).After(l.now) {
		l.headKey = k
	}
}

// next returns the stream whose current entry is due first, or nil when nothing more is due.
// Errors: a malformed head; the active function's.
func (l *dueListing) next() (*dueStream, error) {
	for l.headKey != nil {
		at, subID, ok := parseHeadKey(l.headKey)
		if !ok {
			return nil, fmt.Errorf("malformed head key %x", l.headKey)
		}
		if len(l.streams) > 0 && at.After(l.streams[0].at) {
			break // every subscription still to bring in starts after the current first
		}
		if err := l.bringIn(subID, l.headKey[8:]); err != nil {
			return nil, err
		}
		k, _ := l.heads.Next()
		l.setHead(k)
	}
	if len(l.streams) == 0 {
		return nil, nil
	}
	return l.streams[0], nil
}

// bringIn adds subID's entries due by now to the merge, when it is wanted; subKey is its key form,
// as its head holds it.
func (l *dueListing) bringIn(subID string, subKey []byte) error {
	wanted, err := l.wanted(subID)
	if err != nil || !wanted {
		return err
	}
	prefix := make([]byte, 2, 2+len(subKey))
	binary.BigEndian.PutUint16(prefix, uint16(len(subKey))) // #nosec G115 -- ids are at most state.MaxIDLength bytes
	s := &dueStream{subID: subID, prefix: append(prefix, subKey...)}
	k, _ := l.seeker.Seek(s.prefix)
	if l.load(s, k) {
		heap.Push(&l.streams, s)
	}
	return nil
}

// load makes k the current entry of s and reports whether it is one of s's, due by now.
func (l *dueListing) load(s *dueStream, k []byte) bool {
	at, seq, ok := parseDueEntry(s.prefix, k)
	if !ok || at.After(l.now) {
		return false
	}
	s.at, s.seq = at, seq
	return true
}

// advance moves the first stream (next's) on to its next entry, or drops it when it has none due.
func (l *dueListing) advance() {
	s := l.streams[0]
	if s.cursor == nil {
		s.cursor = l.due.Cursor()
		s.cursor.Seek(dueEntryKey(s.prefix, s.at, s.seq))
	}
	k, _ := s.cursor.Next()
	if l.load(s, k) {
		heap.Fix(&l.streams, 0)
		return
	}
	heap.Pop(&l.streams)
}

// drop takes the first stream (next's) out of the listing with the rest of its entries.
func (l *dueListing) drop() { heap.Pop(&l.streams) }

// dueStreams is a heap of streams, the one whose current entry is due first on top.
type dueStreams []*dueStream

func (h dueStreams) Len() int { return len(h) }

func (h dueStreams) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return bytes.Compare(a.prefix[2:], b.prefix[2:]) < 0
}

func (h dueStreams) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

func (h *dueStreams) Push(x any) { *h = append(*h, x.(*dueStream)) }

func (h *dueStreams) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}
