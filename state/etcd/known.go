package etcd

import (
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// KnownConnections returns the connection IDs RememberConnections kept, in order.
// Errors: etcd's.
func (s *Store) KnownConnections() ([]string, error) {
	ctx, cancel := s.op()
	defer cancel()
	dir := s.key(dirKnown)
	resp, err := s.client.Get(ctx, dir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, wrap("known connections", err)
	}
	ids := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		id, err := unesc(strings.TrimPrefix(string(kv.Key), dir))
		if err != nil {
			return nil, wrap("known connections", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// RememberConnections keeps ids (connection IDs, hashes of tokens HipChat accepted), up to
// maxTxnOps a transaction. Errors: etcd's (those written stay).
func (s *Store) RememberConnections(ids []string) error {
	ctx, cancel := s.op()
	defer cancel()
	for start := 0; start < len(ids); start += maxTxnOps {
		var ops []clientv3.Op
		for _, id := range ids[start:min(start+maxTxnOps, len(ids))] {
			ops = append(ops, clientv3.OpPut(s.key(dirKnown+esc(id)), ""))
		}
		if _, err := s.client.Txn(ctx).Then(ops...).Commit(); err != nil {
			return wrap("remember connections", err)
		}
	}
	return nil
}
