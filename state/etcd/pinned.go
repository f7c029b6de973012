package etcd

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The reads of the delivery path — a listing, and what a write transaction reads before its
// commit — are serializable reads at the newest revision the Store has seen (the header of any
// response, its own commits among them): the member answers them from its own state, where a
// linearizable read first waits until the member has applied everything the cluster committed
// before it, behind the group commits in flight. They see everything this Store wrote, and what
// others wrote by then: a listing one revision behind another replica's commit lists the new
// deliveries at its next turn, and a write transaction compares what it read at its commit as
// always, where a conflict moves the revision on. A member that has not applied that revision yet
// (another member of the cluster, behind), or one compacted past it, is read again linearizably.

// seen raises the newest revision the Store has seen to rev.
func (s *Store) seen(rev int64) {
	for {
		old := s.rev.Load()
		if rev <= old || s.rev.CompareAndSwap(old, rev) {
			return
		}
	}
}

// pinnedOpts are the options of a read of the delivery path: serializable, at the newest revision
// seen (none before the Store has seen one).
func (s *Store) pinnedOpts() []clientv3.OpOption {
	rev := s.rev.Load()
	if rev == 0 {
		return nil
	}
	return []clientv3.OpOption{clientv3.WithSerializable(), clientv3.WithRev(rev)}
}

// readAgain reports whether a pinned read failed for its revision: the member has not applied it,
// or has compacted it away.
func readAgain(err error) bool {
	return errors.Is(err, rpctypes.ErrFutureRev) || errors.Is(err, rpctypes.ErrCompacted)
}

// pinnedGet is Get as a read of the delivery path (pinned: at the newest revision seen), read again
// linearizably when the member cannot answer at that revision.
func (s *Store) pinnedGet(ctx context.Context, pinned bool, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if pinned {
		if resp, err := s.client.Get(ctx, key, append(opts, s.pinnedOpts()...)...); !readAgain(err) {
			if err == nil {
				s.seen(resp.Header.Revision)
			}
			return resp, err
		}
	}
	resp, err := s.client.Get(ctx, key, opts...)
	if err == nil {
		s.seen(resp.Header.Revision)
	}
	return resp, err
}

// pinnedTxn commits a read-only transaction of the gets build makes with the options it is given,
// as a read of the delivery path when pinned (at the newest revision seen), read again
// linearizably when the member cannot answer at that revision.
func (s *Store) pinnedTxn(ctx context.Context, pinned bool, build func(opts ...clientv3.OpOption) []clientv3.Op) (*clientv3.TxnResponse, error) {
	if pinned {
		if resp, err := s.client.Txn(ctx).Then(build(s.pinnedOpts()...)...).Commit(); !readAgain(err) {
			if err == nil {
				s.seen(resp.Header.Revision)
			}
			return resp, err
		}
	}
	resp, err := s.client.Txn(ctx).Then(build()...).Commit()
	if err == nil {
		s.seen(resp.Header.Revision)
	}
	return resp, err
}
