package etcd

import (
	"container/heap"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// What one request of a listing reads: headsPage heads; the status and first readyPage ready
// entries of firstBatch subscriptions, and of twice as many at each later request of the same
// listing, up to maxBatch (a listing that takes what it needs from a few subscriptions reads no
// more of them); readyPage more entries of one subscription whose page ran out.
const (
	headsPage  = 64
	readyPage  = 16
	firstBatch = 2
	maxBatch   = 16
)

// dueListing walks what is due at now as bolt's does (see bolt.Store.PickDue): heads/ in time order
// brings in each active subscription with ready entries due, and a merge of those gives the
// deliveries in the order of version 1's index — due time, seq, escaped subscription id.
type dueListing struct {
	s       *Store
	ctx     context.Context
	now     time.Time
	from    string // the next heads/ key to read
	end     string // the end of heads/ up to now
	more    bool   // heads/ may hold more up to now after what was read
	heads   []listedHead
	pages   map[string]subscriptionPage // what was read ahead of subscriptions not brought in yet
	batch   int                         // subscriptions the next read ahead reads
	streams readyStreams
	picker  state.Picker
}

// listedHead is a heads/ entry read and not brought in yet.
type listedHead struct {
	at    time.Time
	subID string
}

// subscriptionPage is what a listing read of a subscription before bringing it in: nothing when
// the picker refused it.
type subscriptionPage struct {
	refused bool
	active  bool
	ready   rangeRead
}

// readyStream is one subscription's ready entries due by now as the listing walks them: its
// current entry is keys[0], due at at with seq seq.
type readyStream struct {
	subID string
	dir   string
	esc   string // the escaped id, for the order
	keys  []string
	last  string // the last key read of it
	more  bool   // ready/ holds more of it up to now after last
	at    time.Time
	seq   uint64
}

func (s *Store) newDueListing(ctx context.Context, now time.Time, picker state.Picker) *dueListing {
	return &dueListing{s: s, ctx: ctx, now: now, from: s.key(dirHeads),
		end: s.key(dirHeads + hex16(uint64(now.UnixNano())+1)), more: true, // #nosec G115 -- a time after 1970
		pages: map[string]subscriptionPage{}, batch: firstBatch, picker: picker}
}

// next returns the stream whose current entry is due first, or nil when nothing more is due.
// Errors: etcd errors; a malformed key or record.
func (l *dueListing) next() (*readyStream, error) {
	for {
		if len(l.heads) == 0 && l.more {
			if err := l.readHeads(); err != nil {
				return nil, err
			}
		}
		if len(l.heads) == 0 || (len(l.streams) > 0 && l.heads[0].at.After(l.streams[0].at)) {
			break
		}
		if err := l.bringIn(); err != nil {
			return nil, err
		}
	}
	if len(l.streams) == 0 {
		return nil, nil
	}
	return l.streams[0], nil
}

// readHeads reads the next page of heads/ up to now.
func (l *dueListing) readHeads() error {
	resp, err := l.s.pinnedGet(l.ctx, true, l.from, clientv3.WithRange(l.end), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(headsPage))
	if err != nil {
		return err
	}
	l.more = resp.More && len(resp.Kvs) > 0
	for _, kv := range resp.Kvs {
		at, subID, err := l.s.parseHeadKey(string(kv.Key))
		if err != nil {
			return err
		}
		l.heads = append(l.heads, listedHead{at, subID})
	}
	if n := len(resp.Kvs); n > 0 {
		l.from = string(resp.Kvs[n-1].Key) + "\x00"
	}
	return nil
}

// bringIn adds the first head's subscription to the merge when it is active and has entries due,
// reading it (with the next few heads' subscriptions) first when it was not read ahead.
func (l *dueListing) bringIn() error {
	subID := l.heads[0].subID
	if _, read := l.pages[subID]; !read {
		if err := l.readAhead(); err != nil {
			return err
		}
	}
	l.heads = l.heads[1:]
	page := l.pages[subID]
	delete(l.pages, subID)
	if page.refused || !page.active {
		return nil
	}
	st := &readyStream{subID: subID, dir: l.s.readyDir(subID), esc: esc(subID)}
	ok, err := st.load(page.ready)
	if err != nil || !ok {
		return err
	}
	heap.Push(&l.streams, st)
	return nil
}

// readAhead reads, in one request, the status and the first ready entries due by now of the next
// few subscriptions the picker takes (l.batch, doubled for the next request), of the heads not
// brought in yet; those it refuses are not read.
func (l *dueListing) readAhead() error {
	var ids, keys []string
	var ranges []rangeSpec
	batch := l.batch
	l.batch = min(2*l.batch, maxBatch)
	for _, h := range l.heads {
		if len(ids) == batch {
			break
		}
		if _, read := l.pages[h.subID]; read || slices.Contains(ids, h.subID) {
			continue
		}
		if !l.picker.PickSubscription(h.subID) {
			l.pages[h.subID] = subscriptionPage{refused: true}
			continue
		}
		ids = append(ids, h.subID)
		keys = append(keys, l.s.subscriptionKey(h.subID))
		ranges = append(ranges, rangeSpec{prefix: l.s.readyFrom(h.subID, h.at), limit: readyPage, end: l.s.readyEnd(h.subID, l.now), keysOnly: true})
	}
	pages := make([]subscriptionPage, len(ids))
	var decodeErr error
	err := l.s.readBoth(l.ctx, true, keys, ranges, func(i int, kv *mvccpb.KeyValue) {
		if kv != nil && decodeErr == nil {
			pages[i].active, decodeErr = isActive(kv.Value)
		}
	}, func(i int, r rangeRead) { pages[i].ready = r })
	if err != nil {
		return err
	}
	if decodeErr != nil {
		return decodeErr
	}
	for i, id := range ids {
		l.pages[id] = pages[i]
	}
	return nil
}

// advance moves the first stream (next's) on to its next entry due, reading its next page when
// its page ran out, or drops it when it has none. Errors: etcd errors; a malformed key.
func (l *dueListing) advance() error {
	st := l.streams[0]
	st.keys = st.keys[1:]
	if len(st.keys) == 0 && st.more {
		resp, err := l.s.pinnedGet(l.ctx, true, st.last+"\x00", clientv3.WithRange(l.s.readyEnd(st.subID, l.now)),
			clientv3.WithKeysOnly(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(readyPage))
		if err != nil {
			return err
		}
		if _, err := st.load(rangeRead{kvs: resp.Kvs, more: resp.More}); err != nil {
			return err
		}
	}
	ok, err := st.current()
	if err != nil {
		return err
	}
	if ok {
		heap.Fix(&l.streams, 0)
	} else {
		heap.Pop(&l.streams)
	}
	return nil
}

// drop takes the first stream (next's) out of the listing with the rest of its entries.
func (l *dueListing) drop() { heap.Pop(&l.streams) }

// load makes r's keys the stream's page and reports whether it has a current entry.
func (st *readyStream) load(r rangeRead) (bool, error) {
	st.keys, st.more = st.keys[:0], r.more
	for _, kv := range r.kvs {
		st.keys = append(st.keys, string(kv.Key))
	}
	if len(st.keys) > 0 {
		st.last = st.keys[len(st.keys)-1]
	}
	return st.current()
}

// current parses the stream's current entry; false when its page is empty.
func (st *readyStream) current() (bool, error) {
	if len(st.keys) == 0 {
		return false, nil
	}
	at, seq, err := parseReadyKey(st.dir, st.keys[0])
	if err != nil {
		return false, err
	}
	st.at, st.seq = at, seq
	return true, nil
}

// isActive reports whether a subscription record's status is active.
func isActive(record []byte) (bool, error) {
	var status struct {
		Status state.Status `json:"status"`
	}
	if err := json.Unmarshal(record, &status); err != nil {
		return false, err
	}
	return status.Status == state.StatusActive, nil
}

// readyStreams is a heap of streams, the one whose current entry is due first on top.
type readyStreams []*readyStream

func (h readyStreams) Len() int { return len(h) }

func (h readyStreams) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return strings.Compare(a.esc, b.esc) < 0
}

func (h readyStreams) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

func (h *readyStreams) Push(x any) { *h = append(*h, x.(*readyStream)) }

func (h *readyStreams) Pop() any {
	old := *h
	st := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return st
}
