package etcd

import (
	"strings"
	"sync"
)

// lastKnownLimit bounds the values a Store keeps (lastKnown): a few for each subscription and
// delivery in flight.
const lastKnownLimit = 8192

// lastKnown is what the Store last knew of the keys its write transactions read most: each
// subscription's record and outbox key, as its own commits wrote them or its transactions read
// them, and the record of each delivery a listing returned, until an attempt of it is recorded. A
// write transaction (update) takes them from here instead of asking etcd again; its commit compares
// their mod revisions as always, so a value another writer changed meanwhile costs the transaction
// a conflict, after which the keys it read are forgotten and it runs again on values read anew.
// Reads outside a write transaction never use it.
type lastKnown struct {
	mu     sync.Mutex
	values map[string]knownValue
}

// knownValue is a key's value and mod revision (0 and nil: absent).
type knownValue struct {
	value  []byte
	modRev int64
}

func newLastKnown() *lastKnown { return &lastKnown{values: map[string]knownValue{}} }

func (l *lastKnown) get(key string) (knownValue, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.values[key]
	return v, ok
}

// put keeps v for key, making room by forgetting half of what is kept when full.
func (l *lastKnown) put(key string, v knownValue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.values[key]; !ok && len(l.values) >= lastKnownLimit {
		n := 0
		for k := range l.values {
			delete(l.values, k)
			if n++; n == lastKnownLimit/2 {
				break
			}
		}
	}
	l.values[key] = v
}

func (l *lastKnown) forget(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.values, k)
	}
}

// kept reports whether the Store keeps what it knows of key after a commit: a subscription's
// record or outbox key. A delivery's record is kept only from a listing to the commit of its
// attempt.
func (s *Store) kept(key string) bool {
	return strings.HasPrefix(key, s.key(dirSubscriptions)) || strings.HasPrefix(key, s.key(dirOutbox))
}

// knownRead is what a write transaction reads of key from lastKnown, if anything.
func (t *tx) knownRead(key string) (knownValue, bool) {
	if !t.writes {
		return knownValue{}, false
	}
	return t.s.known.get(key)
}

// remember updates lastKnown after the transaction committed at revision rev: what it wrote of the
// keys kept is known as of rev, what it only read as it read it; the delivery records it read or
// wrote are forgotten.
func (t *tx) remember(rev int64) {
	var forget []string
	for k := range t.reads {
		if !t.s.kept(k) {
			forget = append(forget, k)
			continue
		}
		if _, written := t.puts[k]; written || t.dels[k] {
			continue
		}
		t.s.known.put(k, knownValue{value: t.cache[k], modRev: t.reads[k]})
	}
	for _, k := range t.order {
		switch {
		case !t.s.kept(k):
			forget = append(forget, k)
		case t.dels[k]:
			t.s.known.put(k, knownValue{})
		default:
			t.s.known.put(k, knownValue{value: t.puts[k], modRev: rev})
		}
	}
	t.s.known.forget(forget)
}

// forgetReads drops what lastKnown holds of every key the transaction read (its commit found one
// of them changed).
func (t *tx) forgetReads() {
	keys := make([]string, 0, len(t.reads))
	for k := range t.reads {
		keys = append(keys, k)
	}
	t.s.known.forget(keys)
}
