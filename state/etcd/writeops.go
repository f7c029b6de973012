package etcd

import (
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// writeOps are the operations of the transaction's writes, in the order written: a put or a delete
// per key, except that the keys it deletes under a prefix whose first keys a prefetch read
// (prefetchRanges) go as one range delete for each run of them that was every key between its
// first and its last as the prefetch saw them, with nothing put between since. Whoever could have
// added a key there meanwhile rewrites the subscription's outbox key, which the transaction
// compares, so the range deletes those keys and no other. etcd applies one range delete of a few
// keys for much less than a delete of each; a group commit deletes a run of ready entries of each
// subscription (the deliveries one listing took).
func (t *tx) writeOps() []clientv3.Op {
	ranged, runs := t.deletedRuns()
	ops := make([]clientv3.Op, 0, len(t.order)-len(ranged)+len(runs)+len(t.ranges))
	for _, k := range t.order {
		switch v, put := t.puts[k]; {
		case put:
			ops = append(ops, clientv3.OpPut(k, string(v)))
		case !ranged[k]:
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	ops = append(ops, runs...)
	for _, p := range t.ranges {
		ops = append(ops, clientv3.OpDelete(p, clientv3.WithPrefix()))
	}
	return ops
}

// deletedRuns finds the runs writeOps deletes as ranges: the keys they cover, and a range delete
// for each.
func (t *tx) deletedRuns() (map[string]bool, []clientv3.Op) {
	ranged := map[string]bool{}
	var runs []clientv3.Op
	for prefix, read := range t.firsts {
		keys := read.kvs
		for i := 0; i < len(keys); {
			if !t.dels[string(keys[i].Key)] {
				i++
				continue
			}
			j := i
			for j+1 < len(keys) && t.dels[string(keys[j+1].Key)] {
				j++
			}
			first, last := string(keys[i].Key), string(keys[j].Key)
			if j > i && !t.putBetween(prefix, first, last) {
				runs = append(runs, clientv3.OpDelete(first, clientv3.WithRange(last+"\x00")))
				for _, kv := range keys[i : j+1] {
					ranged[string(kv.Key)] = true
				}
			}
			i = j + 1
		}
	}
	return ranged, runs
}

// putBetween reports whether the transaction puts a key under prefix from first to last.
func (t *tx) putBetween(prefix, first, last string) bool {
	for k := range t.puts {
		if strings.HasPrefix(k, prefix) && k >= first && k <= last {
			return true
		}
	}
	return false
}
