package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// dirBudget holds the reserved blocks of calls, {prefix}budget/{key}/{member}-{n}.
const dirBudget = "budget/"

// BudgetOptions configures a SharedBudget. Zero fields take the defaults in their comments.
type BudgetOptions struct {
	// Limit is the most calls of one key (a connection) in any Window, over every replica together.
	Limit int
	// Window is the sliding window of Limit.
	Window time.Duration
	// ClassMax caps each class of call (say "foreground", "background") within the same window; a
	// class not named here is capped by Limit alone.
	ClassMax map[string]int
	// BlockSize is how many calls one reservation takes from etcd (default 10): a replica makes
	// that many calls of a key before it asks etcd again.
	BlockSize int
	// BlockLife is how long a reservation's calls may be made (default 2 s); what is left then is
	// handed back.
	BlockLife time.Duration
	// OpTimeout bounds each etcd round trip (default 2 s).
	OpTimeout time.Duration
}

// SharedBudget keeps each key's calls within Limit in any Window counted over every replica that
// shares the etcd prefix, so that a HipChat token used through three replicas makes no more calls
// than through one.
//
// A replica reserves calls in blocks: a block is a key under {prefix}budget/{key}/ whose value
// says its class and how many calls it holds, attached to an etcd lease of Window + BlockLife
// (plus a second for rounding). A block is granted by a transaction that first sums the key's
// live blocks and then writes only if no block of that key changed since the read, so the live
// blocks never hold more than Limit calls (nor more than ClassMax of a class). The replica makes
// the block's calls within BlockLife of the lease's grant; each of them therefore stays counted by
// etcd for at least Window after it was made, and no Window can hold calls of more than Limit
// reserved calls. Leases expire by etcd's clock, so the replicas' clocks need not agree. A block
// that was not used up when its life ends is shrunk to the calls it made (deleted when none), so
// an idle replica does not keep budget from the others.
//
// A replica that cannot reach etcd takes nothing: Take returns an error, and the caller refuses
// the call rather than risk more than Limit. Safe for concurrent use.
type SharedBudget struct {
	client *clientv3.Client
	dir    string
	member string
	opts   BudgetOptions
	ttl    int64 // seconds of each block's lease

	mu     sync.Mutex
	blocks map[blockID]*block
	seq    uint64
	lease  clientv3.LeaseID
	since  time.Time // when lease was granted (taken just before asking)
	swept  time.Time

	wg       sync.WaitGroup
	closed   atomic.Bool
	reserved atomic.Uint64
	refused  atomic.Uint64
}

type blockID struct{ key, class string }

// block is one key and class's current reservation on this replica.
type block struct {
	mu      sync.Mutex // held across a refill: one round trip per key and class at a time
	class   string
	etcdKey string // "" while none is held
	lease   clientv3.LeaseID
	granted int
	used    int
	until   time.Time
	touched time.Time
}

// NewSharedBudget returns the shared budget of the replicas under prefix (the prefix Join was
// given), for member. Errors: an empty member or a Limit or Window that is not positive.
func NewSharedBudget(client *clientv3.Client, prefix, member string, opts BudgetOptions) (*SharedBudget, error) {
	if member == "" || strings.Contains(member, "/") {
		return nil, fmt.Errorf("cluster: member id %q must be non-empty and hold no /", member)
	}
	if opts.Limit <= 0 || opts.Window <= 0 {
		return nil, errors.New("cluster: a shared budget needs a positive Limit and Window")
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = 10
	}
	if opts.BlockLife <= 0 {
		opts.BlockLife = 2 * time.Second
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 2 * time.Second
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	ttl := int64((opts.Window+opts.BlockLife+time.Second-1)/time.Second) + 1
	return &SharedBudget{client: client, dir: prefix + dirBudget, member: member, opts: opts, ttl: ttl,
		blocks: map[blockID]*block{}}, nil
}

// ErrOverBudget is Take's answer when key's calls in the window, over every replica, reached
// Limit or the class's ClassMax.
var ErrOverBudget = errors.New("cluster: the key's shared budget is spent")

var (
	errBudgetClosed = errors.New("cluster: the shared budget is closed")
	errEtcdTooSlow  = errors.New("cluster: etcd answered after the reserved block's life ended")
)

// Take takes one call of key and class. It returns nil when the call may be made; ErrOverBudget
// and how long until a call is likely to be granted when the budget is spent; or the etcd error
// (with a retry hint of a second) when this replica cannot reach etcd, in which case it takes
// nothing. Keys hold no "/".
func (s *SharedBudget) Take(ctx context.Context, key, class string) (time.Duration, error) {
	if strings.Contains(key, "/") || key == "" {
		return 0, fmt.Errorf("cluster: budget key %q must be non-empty and hold no /", key)
	}
	b := s.blockOf(blockID{key, class})
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.closed.Load() {
		return time.Second, errBudgetClosed
	}
	now := time.Now()
	b.touched = now
	if b.etcdKey != "" && b.used < b.granted && now.Before(b.until) {
		b.used++
		return 0, nil
	}
	s.retire(b)
	retry, err := s.reserve(ctx, key, class, b)
	if err != nil {
		if !errors.Is(err, ErrOverBudget) {
			s.refused.Add(1)
		}
		return retry, err
	}
	b.used++
	return 0, nil
}

// Reserved counts the blocks this replica reserved; Unreachable the calls it refused because
// etcd could not be reached.
func (s *SharedBudget) Reserved() uint64    { return s.reserved.Load() }
func (s *SharedBudget) Unreachable() uint64 { return s.refused.Load() }

// Close hands back what this replica's blocks did not use and waits for those writes. The calls
// made stay counted until their leases expire: Close revokes nothing.
func (s *SharedBudget) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	blocks := make([]*block, 0, len(s.blocks))
	for _, b := range s.blocks {
		blocks = append(blocks, b)
	}
	s.mu.Unlock()
	for _, b := range blocks {
		b.mu.Lock()
		s.retire(b)
		b.mu.Unlock()
	}
	s.wg.Wait()
}

// blockOf returns the block of id, making it; now and then it forgets blocks idle for a window.
func (s *SharedBudget) blockOf(id blockID) *block {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.swept) > s.opts.Window {
		s.swept = now
		for k, b := range s.blocks {
			if b.mu.TryLock() {
				if b.etcdKey == "" && now.Sub(b.touched) > s.opts.Window {
					delete(s.blocks, k)
				}
				b.mu.Unlock()
			}
		}
	}
	b := s.blocks[id]
	if b == nil {
		b = &block{}
		s.blocks[id] = b
	}
	return b
}

// reserve takes a new block for key and class into b (whose mutex the caller holds). It retries a
// few times when another replica reserved at the same instant. Errors: ErrOverBudget with the
// wait, or etcd's.
func (s *SharedBudget) reserve(ctx context.Context, key, class string, b *block) (time.Duration, error) {
	lease, since, err := s.currentLease(ctx)
	if err != nil {
		return time.Second, err
	}
	dir := s.dir + key + "/"
	classMax, capped := s.opts.ClassMax[class]
	opCtx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	got, err := s.client.Get(opCtx, dir, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return time.Second, fmt.Errorf("reading the shared budget: %w", err)
	}
	kvs, rev := got.Kvs, got.Header.Revision
	for range 8 {
		total, ofClass, soonest := sumBlocks(kvs, class)
		n := min(s.opts.BlockSize, s.opts.Limit-total)
		if capped {
			n = min(n, classMax-ofClass)
		}
		if n <= 0 {
			return s.waitFor(soonest), ErrOverBudget
		}
		s.mu.Lock()
		s.seq++
		etcdKey := dir + s.member + "-" + strconv.FormatUint(s.seq, 36)
		s.mu.Unlock()
		until := since.Add(s.opts.BlockLife)
		expires := since.Add(time.Duration(s.ttl) * time.Second)
		opCtx, cancel = context.WithTimeout(ctx, s.opts.OpTimeout)
		// Another replica's block since the read fails the compare; the transaction then reads the
		// blocks again itself, for the next turn.
		resp, err := s.client.Txn(opCtx).
			If(clientv3.Compare(clientv3.ModRevision(dir), "<", rev+1).WithPrefix()).
			Then(clientv3.OpPut(etcdKey, encodeBlock(class, n, expires), clientv3.WithLease(lease))).
			Else(clientv3.OpGet(dir, clientv3.WithPrefix())).
			Commit()
		cancel()
		if err != nil {
			return time.Second, fmt.Errorf("reserving from the shared budget: %w", err)
		}
		if resp.Succeeded {
			b.class, b.etcdKey, b.lease, b.granted, b.used, b.until = class, etcdKey, lease, n, 0, until
			s.reserved.Add(1)
			if !time.Now().Before(until) {
				// etcd took longer than the block's life: a call now might not stay counted for a
				// whole window. The block is handed back unused.
				s.retire(b)
				return time.Second, errEtcdTooSlow
			}
			s.handBackLater(b, etcdKey, until)
			return 0, nil
		}
		kvs, rev = resp.Responses[0].GetResponseRange().Kvs, resp.Header.Revision
	}
	return 100 * time.Millisecond, ErrOverBudget // the others keep reserving: try again shortly
}

// currentLease is the lease new blocks attach to: granted anew once half a BlockLife has passed,
// so that every block still has at least half its life, and its calls are covered by a lease that
// outlives the last of them by a Window.
func (s *SharedBudget) currentLease(ctx context.Context) (clientv3.LeaseID, time.Time, error) {
	s.mu.Lock()
	if s.lease != clientv3.NoLease && time.Since(s.since) < s.opts.BlockLife/2 {
		lease, since := s.lease, s.since
		s.mu.Unlock()
		return lease, since, nil
	}
	s.mu.Unlock()
	since := time.Now() // before the grant: the lease, granted later, expires later still
	opCtx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	resp, err := s.client.Grant(opCtx, s.ttl)
	if err != nil {
		return clientv3.NoLease, time.Time{}, fmt.Errorf("granting a lease for the shared budget: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if since.After(s.since) {
		s.lease, s.since = resp.ID, since
	}
	return resp.ID, since, nil
}

// handBackLater retires b's block etcdKey when its life ends, if it is still b's block then.
func (s *SharedBudget) handBackLater(b *block, etcdKey string, until time.Time) {
	time.AfterFunc(time.Until(until), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.etcdKey == etcdKey {
			s.retire(b)
		}
	})
}

// retire ends b's block (the caller holds b's mutex): the calls it did not make are handed back
// by shrinking its key to the calls made, or deleting it when none were.
func (s *SharedBudget) retire(b *block) {
	if b.etcdKey == "" {
		return
	}
	etcdKey, lease, used, granted, class := b.etcdKey, b.lease, b.used, b.granted, b.class
	b.etcdKey, b.used, b.granted = "", 0, 0
	if used >= granted {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.OpTimeout)
		defer cancel()
		if used == 0 {
			_, _ = s.client.Delete(ctx, etcdKey)
			return
		}
		// Only the count shrinks; the lease, and so how long the made calls stay counted, is kept.
		// A failed write only leaves the unused calls reserved until the lease expires.
		_, _ = s.client.Put(ctx, etcdKey, encodeBlock(class, used, time.Now().Add(s.opts.Window)), clientv3.WithLease(lease))
	}()
}

// waitFor is the retry hint when the budget is spent: until the soonest block expires (as its
// writer's clock said), between a tenth of a second and a Window.
func (s *SharedBudget) waitFor(soonest time.Time) time.Duration {
	if soonest.IsZero() {
		return s.opts.BlockLife
	}
	return min(max(time.Until(soonest), 100*time.Millisecond), s.opts.Window)
}
