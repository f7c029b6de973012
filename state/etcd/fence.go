package etcd

import (
	"errors"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrFenced is the error of a fenced write (CommitFeed) that etcd refused because
// this replica no longer holds the lease of its membership: another replica owns its feeds and
// deliveries now, and nothing was written.
var ErrFenced = errors.New("fenced: this replica's etcd lease is gone, another replica owns the work")

// fence is the condition of fenced writes: key is attached to the lease lease returns.
type fence struct {
	key   string
	lease func() clientv3.LeaseID
}

// fenceState is the Store's fence, set once the replica joined.
type fenceState struct {
	f       atomic.Pointer[fence]
	refused atomic.Uint64
}

// FenceWith fences every later cursor-and-outbox commit (CommitFeed): each of its transactions
// also checks that key (the replica's membership, cluster.Member.Key) is attached to the lease
// lease returns (cluster.Member.Lease), so a replica whose lease expired — its feeds given to
// another — can never write over the new owner; such a write returns ErrFenced. A lease of
// clientv3.NoLease (not joined) refuses at once. Without FenceWith (one process) nothing is
// fenced. Attempt records (RecordAttempts) are not fenced: a delivery already POSTed is better
// recorded than sent again, and the record's own compares (a delivery no longer pending is
// state.ErrNotPending) keep two replicas' records of one delivery from overwriting each other.
func (s *Store) FenceWith(key string, lease func() clientv3.LeaseID) {
	s.fence.f.Store(&fence{key: key, lease: lease})
}

// FencedWritesRefused is how many fenced writes were refused (ErrFenced) since Open.
func (s *Store) FencedWritesRefused() uint64 { return s.fence.refused.Load() }
