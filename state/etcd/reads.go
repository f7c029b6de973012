package etcd

import (
	"context"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// getMany reads keys (nil for an absent one), up to maxTxnOps in each
// read-only transaction. Errors: etcd errors.
func (s *Store) getMany(ctx context.Context, keys []string) ([][]byte, error) {
	values := make([][]byte, len(keys))
	err := s.readEach(ctx, keys, func(i int, kv *mvccpb.KeyValue) {
		if kv != nil {
			values[i] = kv.Value
		}
	})
	if err != nil {
		return nil, err
	}
	return values, nil
}

// readEach reads keys in read-only transactions of up to maxTxnOps gets each
// and calls found with each key's index in keys and its key-value (nil when
// absent), in order. Errors: etcd errors, after found has seen the chunks
// read before.
func (s *Store) readEach(ctx context.Context, keys []string, found func(i int, kv *mvccpb.KeyValue)) error {
	for start := 0; start < len(keys); start += maxTxnOps {
		chunk := keys[start:min(start+maxTxnOps, len(keys))]
		ops := make([]clientv3.Op, 0, len(chunk))
		for _, k := range chunk {
			ops = append(ops, clientv3.OpGet(k))
		}
		resp, err := s.client.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return err
		}
		for i, r := range resp.Responses {
			var kv *mvccpb.KeyValue
			if kvs := r.GetResponseRange().Kvs; len(kvs) > 0 {
				kv = kvs[0]
			}
			found(start+i, kv)
		}
	}
	return nil
}

// rangeSpec asks for the first limit keys (with values, unless keysOnly) under prefix, or from
// prefix up to end when end is set.
type rangeSpec struct {
	prefix   string
	limit    int
	end      string
	keysOnly bool
}

// op is the request of r, with opts besides.
func (r rangeSpec) op(opts ...clientv3.OpOption) clientv3.Op {
	bound := clientv3.WithPrefix()
	if r.end != "" {
		bound = clientv3.WithRange(r.end)
	}
	opts = append([]clientv3.OpOption{bound, clientv3.WithLimit(int64(r.limit)), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}, opts...)
	if r.keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	return clientv3.OpGet(r.prefix, opts...)
}

// rangeRead is what one read of a range found: its first keys in order, and whether more follow.
type rangeRead struct {
	kvs  []*mvccpb.KeyValue
	more bool
}

// readBoth reads keys (as readEach) and ranges in the same read-only transactions, up to
// maxTxnOps requests each, pinned as the reads of the delivery path are when pinned (pinned.go),
// and calls found for each key and ranged for each range, by index. Errors: etcd errors.
func (s *Store) readBoth(ctx context.Context, pinned bool, keys []string, ranges []rangeSpec, found func(i int, kv *mvccpb.KeyValue), ranged func(i int, r rangeRead)) error {
	ops := func(start, end int, opts ...clientv3.OpOption) []clientv3.Op {
		out := make([]clientv3.Op, 0, end-start)
		for i := start; i < end; i++ {
			if i < len(keys) {
				out = append(out, clientv3.OpGet(keys[i], opts...))
			} else {
				out = append(out, ranges[i-len(keys)].op(opts...))
			}
		}
		return out
	}
	total := len(keys) + len(ranges)
	for start := 0; start < total; start += maxTxnOps {
		end := min(start+maxTxnOps, total)
		resp, err := s.pinnedTxn(ctx, pinned, func(opts ...clientv3.OpOption) []clientv3.Op { return ops(start, end, opts...) })
		if err != nil {
			return err
		}
		for j, r := range resp.Responses {
			i, rr := start+j, r.GetResponseRange()
			if i >= len(keys) {
				ranged(i-len(keys), rangeRead{kvs: rr.Kvs, more: rr.More})
				continue
			}
			var kv *mvccpb.KeyValue
			if len(rr.Kvs) > 0 {
				kv = rr.Kvs[0]
			}
			found(i, kv)
		}
	}
	return nil
}

// firstFetched answers first from a prefetched range of exactly prefix: known is false when none
// was read, or when the transaction deleted every key it holds and more follow.
func (t *tx) firstFetched(prefix string) (key string, value []byte, ok, known bool) {
	r, read := t.firsts[prefix]
	if !read {
		return "", nil, false, false
	}
	for _, kv := range r.kvs {
		k := string(kv.Key)
		if t.dels[k] {
			continue
		}
		key, value, ok = k, kv.Value, true
		if v, written := t.puts[k]; written {
			value = v
		}
		break
	}
	if !ok && r.more {
		return "", nil, false, false
	}
	for k, v := range t.puts {
		if strings.HasPrefix(k, prefix) && (!ok || k < key) {
			key, value, ok = k, v, true
		}
	}
	return key, value, ok, true
}
