package etcd

import (
	"context"

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
