package etcd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcd's default limits, with margin: --max-txn-ops is 128 (compares and
// operations are counted apart), --max-request-bytes is 1.5 MiB.
const (
	maxTxnOps   = 128
	maxTxnBytes = 1 << 20
	// maxConflicts bounds the retries of one write that keeps losing to
	// other writers.
	maxConflicts = 64
)

// tx is one optimistic etcd transaction: reads go to etcd (or see the
// transaction's own writes) and remember each key's mod revision; commit
// sends the writes if none of those keys changed since. Range reads compare
// nothing: the writers of a subscription's log and queue all rewrite its
// outbox key (touchOutbox), which does the comparing for them.
type tx struct {
	s      *Store
	ctx    context.Context
	reads  map[string]int64 // key → mod revision when read (0: absent)
	cache  map[string][]byte
	puts   map[string][]byte
	dels   map[string]bool
	order  []string // keys of puts and dels, in the order written
	ranges []string // prefixes deleted whole
	fence  *fence   // nil: not fenced (see FenceWith)
	// firsts holds the first keys under a prefix as a prefetch read them (prefetchRanges), for first.
	firsts map[string]rangeRead
	// ready holds, per subscription whose ready entries the transaction changed, its head before
	// (heads.go): finishHeads writes the new one.
	ready map[string]*readyChange
	// queue holds, by log key, whether each delivery the transaction read or scheduled is pending
	// and when it is due (queue.go).
	queue map[string]queued
	// writes: a write transaction (update), which reads what the Store last knew (lastknown.go).
	writes bool
}

func (s *Store) newTx(ctx context.Context) *tx {
	return &tx{s: s, ctx: ctx, reads: map[string]int64{}, cache: map[string][]byte{},
		puts: map[string][]byte{}, dels: map[string]bool{}, firsts: map[string]rangeRead{}, ready: map[string]*readyChange{}, queue: map[string]queued{}}
}

// get returns the value of key and whether it exists.
func (t *tx) get(key string) ([]byte, bool, error) {
	if v, ok := t.puts[key]; ok {
		return v, true, nil
	}
	if t.dels[key] {
		return nil, false, nil
	}
	if _, ok := t.reads[key]; ok {
		v := t.cache[key]
		return v, v != nil, nil
	}
	if known, ok := t.knownRead(key); ok {
		t.reads[key], t.cache[key] = known.modRev, known.value
		return known.value, known.value != nil, nil
	}
	resp, err := t.s.pinnedGet(t.ctx, t.writes, key)
	if err != nil {
		return nil, false, err
	}
	if len(resp.Kvs) == 0 {
		t.reads[key] = 0
		return nil, false, nil
	}
	kv := resp.Kvs[0]
	t.reads[key] = kv.ModRevision
	t.cache[key] = kv.Value
	return kv.Value, true, nil
}

// prefetch reads keys not read yet in read-only transactions of up to
// maxTxnOps gets each, so that get finds them without a round trip per key.
func (t *tx) prefetch(keys []string) error { return t.prefetchRanges(keys, nil) }

// prefetchRanges is prefetch that also reads the first keys of each range, in the same requests,
// for first to answer from.
func (t *tx) prefetchRanges(keys []string, ranges []rangeSpec) error {
	var todo []string
	for _, k := range keys {
		if _, read := t.reads[k]; read || t.dels[k] {
			continue
		}
		if _, written := t.puts[k]; written {
			continue
		}
		if known, ok := t.knownRead(k); ok {
			t.reads[k], t.cache[k] = known.modRev, known.value
			continue
		}
		todo = append(todo, k)
	}
	return t.s.readBoth(t.ctx, t.writes, todo, ranges, func(i int, kv *mvccpb.KeyValue) {
		t.reads[todo[i]] = 0
		if kv != nil {
			t.reads[todo[i]] = kv.ModRevision
			t.cache[todo[i]] = kv.Value
		}
	}, func(i int, r rangeRead) { t.firsts[ranges[i].prefix] = r })
}

func (t *tx) put(key string, value []byte) {
	if value == nil {
		value = []byte{}
	}
	t.note(key)
	delete(t.dels, key)
	t.puts[key] = value
}

func (t *tx) del(key string) {
	t.note(key)
	delete(t.puts, key)
	t.dels[key] = true
}

func (t *tx) note(key string) {
	if _, ok := t.puts[key]; ok {
		return
	}
	if t.dels[key] {
		return
	}
	t.order = append(t.order, key)
}

// deletePrefix deletes every key under prefix; the transaction must write
// nothing else under it.
func (t *tx) deletePrefix(prefix string) { t.ranges = append(t.ranges, prefix) }

// first returns the smallest key under prefix and its value, as the
// transaction sees it; ok is false when there is none. A prefetched range
// answers it without a request when what the transaction deleted of it
// leaves a key, or when it holds every key under prefix.
func (t *tx) first(prefix string) (key string, value []byte, ok bool, err error) {
	if key, value, ok, known := t.firstFetched(prefix); known {
		return key, value, ok, nil
	}
	deleted := 0
	for k := range t.dels {
		if strings.HasPrefix(k, prefix) {
			deleted++
		}
	}
	resp, err := t.s.pinnedGet(t.ctx, t.writes, prefix, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(int64(deleted+1)))
	if err != nil {
		return "", nil, false, err
	}
	for _, kv := range resp.Kvs {
		if k := string(kv.Key); !t.dels[k] {
			key, value, ok = k, kv.Value, true
			break
		}
	}
	for k, v := range t.puts {
		if strings.HasPrefix(k, prefix) && (!ok || k < key) {
			key, value, ok = k, v, true
		}
	}
	return key, value, ok, nil
}

// size is the number of compares, of operations and the bytes of the request.
func (t *tx) size() (cmps, ops, bytes int) {
	for k := range t.reads {
		bytes += len(k) + 16
	}
	for k, v := range t.puts {
		bytes += len(k) + len(v) + 8
	}
	for k := range t.dels {
		bytes += len(k) + 8
	}
	for _, p := range t.ranges {
		bytes += 2*len(p) + 8
	}
	cmps = len(t.reads)
	if t.fence != nil {
		cmps++
		bytes += len(t.fence.key) + 16
	}
	return cmps, len(t.writeOps()), bytes
}

// fits reports whether the transaction is within etcd's limits.
func (t *tx) fits() bool {
	cmps, ops, bytes := t.size()
	return cmps <= maxTxnOps && ops <= maxTxnOps && bytes <= maxTxnBytes
}

// commit sends the writes if nothing read changed; ok is false on a conflict. rev is the revision
// of the writes (0 when there were none). A transaction that read but writes nothing still sends
// its compares: what it read (from lastKnown, or pinned at an older revision) decided that nothing
// was to be written, and another writer may have changed it since.
func (t *tx) commit() (ok bool, rev int64, err error) {
	if len(t.order) == 0 && len(t.ranges) == 0 && len(t.reads) == 0 {
		return true, 0, nil
	}
	keys := make([]string, 0, len(t.reads))
	for k := range t.reads {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cmps := make([]clientv3.Cmp, 0, len(keys))
	for _, k := range keys {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", t.reads[k]))
	}
	ops := t.writeOps()
	if t.fence == nil {
		resp, err := t.s.client.Txn(t.ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return false, 0, err
		}
		t.s.seen(resp.Header.Revision)
		return resp.Succeeded, resp.Header.Revision, nil
	}
	lease := t.fence.lease()
	if lease == clientv3.NoLease {
		t.s.fence.refused.Add(1)
		return false, 0, ErrFenced
	}
	cmps = append(cmps, clientv3.Compare(clientv3.LeaseValue(t.fence.key), "=", int64(lease)))
	resp, err := t.s.client.Txn(t.ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(t.fence.key)).Commit()
	if err != nil {
		return false, 0, err
	}
	t.s.seen(resp.Header.Revision)
	if !resp.Succeeded {
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 0 || kvs[0].Lease != int64(lease) {
			t.s.fence.refused.Add(1)
			return false, 0, ErrFenced
		}
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

// update runs fn in a fresh transaction and commits it, again from the start
// while another writer changed what fn read. fn's errors end it unwritten;
// errTooLarge when fn's writes do not fit one etcd transaction.
func (s *Store) update(fn func(t *tx) error) error { return s.updateTx(false, fn) }

// fencedUpdate is update with the fence (FenceWith), when one is set: ErrFenced when this
// replica no longer holds its lease.
func (s *Store) fencedUpdate(fn func(t *tx) error) error { return s.updateTx(true, fn) }

func (s *Store) updateTx(fenced bool, fn func(t *tx) error) error {
	ctx, cancel := s.op()
	defer cancel()
	for attempt := 0; ; attempt++ {
		t := s.newTx(ctx)
		t.writes = true
		if fenced {
			t.fence = s.fence.f.Load()
		}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.finishHeads(); err != nil {
			return err
		}
		if !t.fits() {
			return errTooLarge
		}
		ok, rev, err := t.commit()
		if err != nil {
			t.forgetReads()
			return err
		}
		if ok {
			t.remember(rev)
			return nil
		}
		t.forgetReads()
		if attempt == maxConflicts {
			return fmt.Errorf("gave up after %d conflicting writes", maxConflicts)
		}
		// Back off a little, with jitter, so that two writers stop colliding.
		delay := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 5))) // #nosec G404 -- back-off jitter, not a secret
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
