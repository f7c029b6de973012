// Package cluster lets several replicas of the connector share one etcd: each
// replica joins with an etcd session (a lease kept alive while the process
// lives) and registers itself under {prefix}members/{id}; every member watches
// that directory and so knows the live members, and a key (a feed, a
// subscription) is owned by exactly one of them, chosen by rendezvous
// (highest-random-weight) hashing of the key over the live members. When a
// member dies its lease expires within the TTL, its registration disappears,
// and its keys move to the others; the keys of the survivors stay where they
// were.
//
// A member that lost its session owns nothing (Ready is false) until it has
// joined again with a new one, which it keeps trying.
//
// The package owns all of the replicas' behaviour and every key under
// {prefix}cluster/: a Replica (JoinReplicas) is what cmd wires into the poller,
// the deliverer and the server: the ownership rules of feeds, connections and
// subscriptions, the HipChat budget shared over the replicas (SharedLimiter),
// the doorbell relay that hands a push to the feed's owner, and the status
// board (StatusBoard) through which any replica shows the owner's poll plan
// and push state. A nil Replica is one process that owns everything.
package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// DefaultTTL is the lease TTL of a member's session (-etcd-lease-ttl).
const DefaultTTL = 10 * time.Second

// dirMembers holds one key per live member, attached to its lease.
const dirMembers = "members/"

// rejoinDelay is the pause between two attempts to join again after the session was lost.
const rejoinDelay = 500 * time.Millisecond

// Member is this replica's membership. Its methods are safe for concurrent use.
type Member struct {
	client *clientv3.Client
	prefix string
	id     string
	ttl    int // seconds
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.RWMutex
	session  *concurrency.Session // nil while not joined
	members  []string             // sorted ids of the live members
	onChange []func()
}

// Option configures Join.
type Option func(*Member)

// WithLogger logs joins, losses and membership changes to l.
func WithLogger(l *slog.Logger) Option { return func(m *Member) { m.log = l } }

// Join creates an etcd session with ttl (rounded up to whole seconds, at least 1), registers id
// under {prefix}members/{id} with the session's lease and starts watching the members. It returns
// once this member is registered and the member list read. Errors: an empty id or one holding a
// "/", an id another live member holds, etcd errors. Close leaves the cluster.
func Join(ctx context.Context, client *clientv3.Client, prefix string, ttl time.Duration, id string, opts ...Option) (*Member, error) {
	if id == "" || strings.Contains(id, "/") {
		return nil, fmt.Errorf("cluster: member id %q must be non-empty and hold no /", id)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	secs := int((ttl + time.Second - 1) / time.Second)
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &Member{client: client, prefix: prefix, id: id, ttl: max(1, secs), log: slog.New(slog.DiscardHandler),
		ctx: base, cancel: cancel, done: make(chan struct{})}
	for _, o := range opts {
		o(m)
	}
	session, rev, err := m.register(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	go m.run(session, rev)
	return m, nil
}

// ID is this member's id.
func (m *Member) ID() string { return m.id }

// Key is this member's registration key, {prefix}members/{id}.
func (m *Member) Key() string { return m.prefix + dirMembers + m.id }

// Ready reports whether the member holds a live session.
func (m *Member) Ready() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.readyLocked()
}

func (m *Member) readyLocked() bool {
	if m.session == nil {
		return false
	}
	select {
	case <-m.session.Done():
		return false
	default:
		return true
	}
}

// Lease is the lease of the current session; clientv3.NoLease while not joined.
func (m *Member) Lease() clientv3.LeaseID {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.readyLocked() {
		return clientv3.NoLease
	}
	return m.session.Lease()
}

// Members returns the sorted ids of the live members as last seen.
func (m *Member) Members() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.members)
}

// Owns reports whether this member owns key: it holds a live session and has the highest weight
// for key among the live members. Every member that sees the same member list agrees.
func (m *Member) Owns(key string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.readyLocked() {
		return false
	}
	return Owner(key, m.members) == m.id
}

// OnChange calls f (in its own goroutine's order, never concurrently with itself) after each
// change of the member list or of the session.
func (m *Member) OnChange(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onChange = append(m.onChange, f)
}

// Close leaves the cluster: it revokes the session's lease, so the other members take over this
// member's keys at once rather than after the TTL.
func (m *Member) Close() error {
	m.cancel()
	<-m.done
	m.mu.Lock()
	session := m.session
	m.session = nil
	m.members = nil
	m.mu.Unlock()
	if session == nil {
		return nil
	}
	// Not session.Close: it revokes with the session's context, which is m.ctx, cancelled above,
	// so the revoke would never be sent and the lease would live out its TTL.
	session.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(m.ttl)*time.Second) // past it the lease is gone anyway
	defer cancel()
	if _, err := m.client.Revoke(ctx, session.Lease()); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("cluster: leave: %w", err) // an expired lease needs no revoke
	}
	return nil
}

// Owner is the member of members with the highest rendezvous weight for key ("" when there is
// none); ties, vanishingly rare, go to the smaller id.
func Owner(key string, members []string) string {
	best, bestWeight := "", uint64(0)
	for _, id := range members {
		w := weight(id, key)
		if best == "" || w > bestWeight || (w == bestWeight && id < best) {
			best, bestWeight = id, w
		}
	}
	return best
}

// weight is the rendezvous weight of member id for key: FNV-1a of both, mixed by splitmix64's
// finalizer so that similar ids and keys spread evenly.
func weight(id, key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	var buf [8]byte
	x := binary.BigEndian.Uint64(h.Sum(buf[:0]))
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// register makes a session, puts the member key with its lease (refusing an id held by another
// live member) and reads the member list; it returns the session and the revision to watch from.
func (m *Member) register(ctx context.Context) (*concurrency.Session, int64, error) {
	session, err := concurrency.NewSession(m.client, concurrency.WithTTL(m.ttl), concurrency.WithContext(m.ctx))
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: session: %w", err)
	}
	key := m.Key()
	resp, err := m.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, time.Now().UTC().Format(time.RFC3339), clientv3.WithLease(session.Lease()))).
		Commit()
	if err == nil && !resp.Succeeded {
		err = fmt.Errorf("member id %q is held by another live member", m.id)
	}
	if err != nil {
		_ = session.Close()
		return nil, 0, fmt.Errorf("cluster: register: %w", err)
	}
	members, rev, err := m.readMembers(ctx)
	if err != nil {
		_ = session.Close()
		return nil, 0, fmt.Errorf("cluster: members: %w", err)
	}
	m.mu.Lock()
	m.session, m.members = session, members
	m.mu.Unlock()
	m.log.Info("joined the cluster", "member", m.id, "lease", fmt.Sprintf("%x", session.Lease()), "members", members)
	m.changed()
	return session, rev, nil
}

// readMembers reads the member list, sorted, and the revision to watch it from. Errors: etcd's.
func (m *Member) readMembers(ctx context.Context) ([]string, int64, error) {
	list, err := m.client.Get(ctx, m.prefix+dirMembers, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, 0, err
	}
	members := make([]string, 0, len(list.Kvs))
	for _, kv := range list.Kvs {
		members = append(members, strings.TrimPrefix(string(kv.Key), m.prefix+dirMembers))
	}
	slices.Sort(members)
	return members, list.Header.Revision + 1, nil
}

// run follows the member list until Close, and joins again after losing the session.
func (m *Member) run(session *concurrency.Session, rev int64) {
	defer close(m.done)
	for {
		m.watch(session, rev)
		if m.ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		lost := m.session == session
		if lost {
			m.session, m.members = nil, nil
		}
		m.mu.Unlock()
		m.log.Warn("lost the etcd session: owning nothing until joined again", "member", m.id)
		m.changed()
		_ = session.Close()
		for {
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(rejoinDelay):
			}
			var err error
			if session, rev, err = m.register(m.ctx); err == nil {
				break
			}
			m.log.Warn("joining the cluster again failed; retrying", "member", m.id, "err", err)
		}
	}
}

// watch applies the changes of the member list from rev until the session ends or Close.
func (m *Member) watch(session *concurrency.Session, rev int64) {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(m.ctx))
	defer cancel()
	events := m.client.Watch(ctx, m.prefix+dirMembers, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for {
		select {
		case <-session.Done():
			return
		case <-m.ctx.Done():
			return
		case resp, ok := <-events:
			if !ok || resp.Err() != nil {
				// The watch broke (compaction, leader loss): read the list again and watch on.
				if m.ctx.Err() != nil {
					return
				}
				next, err := m.reload(ctx)
				if err != nil {
					time.Sleep(rejoinDelay)
					next = rev
				}
				rev = next
				events = m.client.Watch(ctx, m.prefix+dirMembers, clientv3.WithPrefix(), clientv3.WithRev(rev))
				continue
			}
			rev = resp.Header.Revision + 1
			m.apply(resp.Events)
		}
	}
}

// apply adds the members put and drops those deleted (lease expired or revoked).
func (m *Member) apply(events []*clientv3.Event) {
	if len(events) == 0 {
		return
	}
	m.mu.Lock()
	set := map[string]bool{}
	for _, id := range m.members {
		set[id] = true
	}
	for _, ev := range events {
		id := strings.TrimPrefix(string(ev.Kv.Key), m.prefix+dirMembers)
		set[id] = ev.Type == clientv3.EventTypePut
	}
	members := make([]string, 0, len(set))
	for id, live := range set {
		if live {
			members = append(members, id)
		}
	}
	slices.Sort(members)
	same := slices.Equal(members, m.members)
	m.members = members
	m.mu.Unlock()
	if !same {
		m.log.Info("the cluster's members changed", "member", m.id, "members", members)
		m.changed()
	}
}

// reload reads the member list again; it returns the revision to watch from.
func (m *Member) reload(ctx context.Context) (int64, error) {
	members, rev, err := m.readMembers(ctx)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	m.members = members
	m.mu.Unlock()
	m.changed()
	return rev, nil
}

// changed calls the OnChange functions.
func (m *Member) changed() {
	m.mu.RLock()
	fns := slices.Clone(m.onChange)
	m.mu.RUnlock()
	for _, f := range fns {
		f()
	}
}
