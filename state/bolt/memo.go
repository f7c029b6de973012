package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// A memo keeps records decoded from the file, each beside the bytes it was decoded from, so that
// the delivery hot path does not decode the same JSON again and again: each due delivery's
// subscription is read by every dispatch listing that passes it (for its status) and by the
// commit that records its attempt.
//
// An entry answers a read only when the bytes just read from the file are the bytes it was decoded
// from, so a hit returns exactly what decoding them would, whichever transactions committed or
// rolled back meanwhile and whatever snapshot the reader holds: nothing is ever stale, and no
// write has to invalidate anything. The bound on entries only keeps memory small; a value evicted
// or never kept is decoded again. (Delivery records need no memo: their binary form decodes in
// about what a memo lookup and copy cost.)
type memo[K comparable, V any] struct {
	limit int

	mu      sync.Mutex
	entries map[K]memoEntry[V]
}

// memoEntry is a decoded value and the bytes it was decoded from (a copy the memo owns).
type memoEntry[V any] struct {
	raw []byte
	val V
}

// subscriptionMemoLimit bounds the subscriptions the Store's memo keeps: well above those with
// deliveries due at once in any deployment we know of, and small beside the heap.
const subscriptionMemoLimit = 1024

func newMemo[K comparable, V any](limit int) *memo[K, V] {
	return &memo[K, V]{limit: limit, entries: make(map[K]memoEntry[V])}
}

// get returns the value kept under k if it was decoded from exactly raw. The value shares memory
// with the memo: the caller must not change what its slices hold.
func (m *memo[K, V]) get(k K, raw []byte) (V, bool) {
	m.mu.Lock()
	e, ok := m.entries[k]
	m.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) { // e.raw is never written after put
		var zero V
		return zero, false
	}
	return e.val, true
}

// put keeps val, decoded from raw (which may point into a bbolt page: it is copied), under k,
// making room by dropping an arbitrary entry when the memo is full. val must not be changed
// afterwards.
func (m *memo[K, V]) put(k K, raw []byte, val V) {
	e := memoEntry[V]{raw: bytes.Clone(raw), val: val}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[k]; !ok && len(m.entries) >= m.limit {
		for victim := range m.entries {
			delete(m.entries, victim)
			break
		}
	}
	m.entries[k] = e
}

// forget drops the entry of k.
func (m *memo[K, V]) forget(k K) {
	m.mu.Lock()
	delete(m.entries, k)
	m.mu.Unlock()
}

// ignoreNotFound is err, or nil when it is state.ErrNotFound.
func ignoreNotFound(err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}

// loadSubscription is getSubscription through the memo: the record returned is the caller's to
// change. Errors: ErrNotFound; a record that does not decode.
func (s *Store) loadSubscription(tx *bbolt.Tx, id string) (*state.SubscriptionRecord, error) {
	rec, err := s.memoSubscription(tx, id)
	if err != nil {
		return nil, err
	}
	return rec.Clone(), nil
}

// memoSubscription returns the record of subscription id, shared with the memo.
func (s *Store) memoSubscription(tx *bbolt.Tx, id string) (*state.SubscriptionRecord, error) {
	return s.memoSubscriptionIn(tx.Bucket(bucketSubscriptions), id)
}

// memoSubscriptionIn is memoSubscription with the subscriptions bucket of the transaction.
func (s *Store) memoSubscriptionIn(subs *bbolt.Bucket, id string) (*state.SubscriptionRecord, error) {
	raw := subs.Get([]byte(id))
	if raw == nil {
		return nil, fmt.Errorf("%w: subscription %q", state.ErrNotFound, id)
	}
	if rec, ok := s.subscriptionMemo.get(id, raw); ok {
		return rec, nil
	}
	rec, err := decodeSubscription([]byte(id), raw)
	if err != nil {
		return nil, err
	}
	s.subscriptionMemo.put(id, raw, rec)
	return rec, nil
}
