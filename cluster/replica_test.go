package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

// fakeFence records the fence a replica sets and reports a fixed count of refused writes.
type fakeFence struct {
	mu  sync.Mutex
	key string
}

func (f *fakeFence) FenceWith(key string, _ func() clientv3.LeaseID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.key = key
}

func (f *fakeFence) FencedWritesRefused() uint64 { return 3 }

// testPlan and testPush stand for the poller's plan and push state.
type testPlan struct {
	Feeds int `json:"feeds"`
}

type testPush struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// fakePoller is a status source and a doorbell ring that records the rings it gets.
type fakePoller struct {
	plans     map[string]testPlan
	push      map[string]map[string]testPush
	secrets   map[string]string // feed id → its doorbell secret, for the feeds this replica registered
	owned     map[string]bool   // feed ids this replica owns
	rung      chan string       // feed ids rung, here or forwarded
	plain     atomic.Int32      // calls of Ring
	published atomic.Bool       // DoorbellChanges told its secrets
}

func (p *fakePoller) Connections() []string {
	ids := []string{}
	for id := range p.plans {
		ids = append(ids, id)
	}
	return ids
}

func (p *fakePoller) Plan(id string) (testPlan, bool) {
	plan, ok := p.plans[id]
	return plan, ok
}

func (p *fakePoller) PushStatus(id, room string) (string, string, bool) {
	s, ok := p.push[id][room]
	return s.State, s.Reason, ok
}

func (p *fakePoller) PushStates() map[string]map[string]testPush { return p.push }

// DoorbellChanges publishes the digests of the owned feeds' secrets once, as a poller does when it
// registers them.
func (p *fakePoller) DoorbellChanges() map[string]string {
	if !p.published.CompareAndSwap(false, true) {
		return nil
	}
	out := map[string]string{}
	for id, secret := range p.secrets {
		if p.owned[id] {
			sum := sha256.Sum256([]byte(secret))
			out[id] = hex.EncodeToString(sum[:])
		}
	}
	return out
}

func (p *fakePoller) RingForwarded(id string) bool {
	if !p.owned[id] {
		return false
	}
	select {
	case p.rung <- id:
	default: // the test has seen enough
	}
	return true
}

func (p *fakePoller) Ring(id, secret string, _ []byte) bool {
	p.plain.Add(1)
	return p.secrets[id] != "" && p.secrets[id] == secret && p.RingForwarded(id)
}

// joinReplica joins a replica with id under /app/ on server.
func joinReplica(t *testing.T, server *etcdtest.Server, id string, reg prometheus.Registerer) (*Replica, *fakeFence) {
	t.Helper()
	fence := &fakeFence{}
	r, err := JoinReplicas(context.Background(), ReplicaOptions{
		Client: server.Client(t), Prefix: "/app/", LeaseTTL: time.Second, Fence: fence, ID: id, Registerer: reg,
	})
	require.NoError(t, err)
	t.Cleanup(r.Leave)
	return r, fence
}

// connectionOwnedBy returns a connection id that owner owns (and so the other does not).
func connectionOwnedBy(t *testing.T, owner, other *Replica) string {
	t.Helper()
	require.Eventually(t, func() bool {
		return len(owner.member.Members()) == 2 && len(other.member.Members()) == 2
	}, 30*time.Second, 10*time.Millisecond)
	for i := range 100 {
		id := fmt.Sprintf("conn-%d", i)
		if owner.OwnsConnection(id) {
			require.False(t, other.OwnsConnection(id))
			return id
		}
	}
	t.Fatal("no connection owned by the first replica")
	return ""
}

// A nil Replica is one process: it owns everything, adds no rule, no limiter and no readiness
// condition, answers doorbells with the poller's own Ring and reads the status from its source.
func TestNilReplicaOwnsEverything(t *testing.T) {
	var r *Replica
	assert.Nil(t, r.OwnsFeed())
	assert.Nil(t, r.OwnsSubscription())
	assert.Nil(t, r.Limiter())
	assert.Nil(t, r.Ready())
	assert.True(t, r.OwnsConnection("any"))
	r.OnChange(func() { t.Error("a nil Replica never changes") })
	poll := &fakePoller{secrets: map[string]string{"f1": "s"}, owned: map[string]bool{"f1": true}, rung: make(chan string, 1),
		plans: map[string]testPlan{"c1": {Feeds: 2}}, push: map[string]map[string]testPush{"c1": {"7": {State: "trusted"}}}}
	r.RelayDoorbells(context.Background(), poll) // returns at once: nothing to relay
	assert.True(t, r.Doorbell(poll)("f1", "s", nil))
	assert.False(t, r.Doorbell(poll)("f1", "wrong", nil))
	assert.EqualValues(t, 2, poll.plain.Load(), "every doorbell is the poller's own Ring")

	board := NewStatusBoard[testPlan, testPush](r, poll)
	board.Run(context.Background()) // returns at once
	plan, ok := board.Plan("c1")
	assert.True(t, ok)
	assert.Equal(t, testPlan{Feeds: 2}, plan)
	state, _, ok := board.PushStatus("c1", "7")
	assert.True(t, ok)
	assert.Equal(t, "trusted", state)
	r.Leave()
}

// JoinReplicas fences the store with the member's key under {prefix}cluster/ and registers the
// cluster metrics; the owner publishes its feed's secret digest, a replica that is not the feed's
// owner checks a doorbell against it, forwards a valid one to the owner through etcd (once per
// feed within forwardInterval), refuses a wrong one at no cost, and the owner rings it.
func TestDoorbellReachesTheFeedsOwner(t *testing.T) {
	server := etcdtest.Start(t)
	reg := prometheus.NewRegistry()
	a, fence := joinReplica(t, server, "replica-a", reg)
	b, _ := joinReplica(t, server, "replica-b", nil)
	assert.Equal(t, "/app/cluster/members/replica-a", fence.key)
	assert.Equal(t, 3.0, metricValue(t, reg, "hipchat_connector_cluster_fenced_writes_refused_total"))
	assert.Equal(t, 0.0, metricValue(t, reg, "hipchat_connector_cluster_doorbells_forwarded_total"))
	require.Eventually(t, func() bool { return metricValue(t, reg, "hipchat_connector_cluster_members") == 2 }, 30*time.Second,
		10*time.Millisecond, "replica a sees itself and b")
	require.NotNil(t, a.Ready())
	require.NoError(t, a.Ready()())

	owner := &fakePoller{owned: map[string]bool{"feed-1": true}, secrets: map[string]string{"feed-1": "secret"}, rung: make(chan string, 4)}
	other := &fakePoller{rung: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var relays sync.WaitGroup
	relays.Go(func() { a.RelayDoorbells(ctx, owner) })
	relays.Go(func() { b.RelayDoorbells(ctx, other) })

	assert.False(t, b.Doorbell(other)("feed-1", "wrong", nil), "a wrong secret is refused")
	assert.EqualValues(t, 1, other.plain.Load(), "…after the poller's own Ring, which does not know the feed")
	// The digest is published within publishEvery, and the owner's watch may open after the first
	// forward: ring until it hears one.
	require.Eventually(t, func() bool {
		if !b.Doorbell(other)("feed-1", "secret", nil) {
			return false // the digest is not known here yet, or no session yet
		}
		select {
		case id := <-owner.rung:
			return id == "feed-1"
		default:
			b.relay.mu.Lock()
			delete(b.relay.lastFwd, "feed-1") // let the next try forward again
			b.relay.mu.Unlock()
			return false
		}
	}, 30*time.Second, 50*time.Millisecond, "the owner was not rung")
	forwarded := b.relay.forwarded.Load()
	assert.Positive(t, forwarded, "counted as forwarded by the replica that received it")
	for range 10 {
		assert.True(t, b.Doorbell(other)("feed-1", "secret", nil))
	}
	assert.Equal(t, forwarded, b.relay.forwarded.Load(), "doorbells within forwardInterval of a forward are coalesced into it")
	assert.False(t, b.Doorbell(other)("feed-2", "secret", nil), "a feed nobody published")
	cancel()
	relays.Wait()
}

// The status board shows any replica the owner's poll plan and push state of a connection, and a
// replica's own for the connections it owns.
func TestStatusBoardShowsTheOwnersStatus(t *testing.T) {
	server := etcdtest.Start(t)
	a, _ := joinReplica(t, server, "replica-a", nil)
	b, _ := joinReplica(t, server, "replica-b", nil)
	id := connectionOwnedBy(t, a, b)

	ownerSource := &fakePoller{plans: map[string]testPlan{id: {Feeds: 4}},
		push: map[string]map[string]testPush{id: {"12": {State: "off", Reason: "no admin_room scope"}}}}
	otherSource := &fakePoller{plans: map[string]testPlan{}, push: map[string]map[string]testPush{}}
	ownerBoard := NewStatusBoard[testPlan, testPush](a, ownerSource)
	otherBoard := NewStatusBoard[testPlan, testPush](b, otherSource)
	_, ok := otherBoard.Plan(id)
	assert.False(t, ok, "nothing published yet")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	published := make(chan struct{})
	go func() {
		defer close(published)
		ownerBoard.Run(ctx)
	}()
	require.Eventually(t, func() bool {
		plan, ok := otherBoard.Plan(id)
		return ok && plan.Feeds == 4
	}, 30*time.Second, 50*time.Millisecond, "the other replica reads the owner's plan")
	state, reason, ok := otherBoard.PushStatus(id, "12")
	assert.True(t, ok)
	assert.Equal(t, "off", state)
	assert.Equal(t, "no admin_room scope", reason)
	_, _, ok = otherBoard.PushStatus(id, "13")
	assert.False(t, ok, "a room without push")

	plan, ok := ownerBoard.Plan(id)
	assert.True(t, ok, "the owner answers from its own source")
	assert.Equal(t, 4, plan.Feeds)
	cancel()
	<-published
}

// metricValue reads the unlabelled counter or gauge name from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A digest deleted while no watch followed the secrets (etcd restarting, or a compaction past a
// watch that lagged) is forgotten when the watch opens again: the relay starts here knowing a
// digest that etcd no longer holds, as it would after such a gap, and its first read drops it, so
// that the feed's old doorbell URL is refused; a digest in place is kept.
func TestARelayForgetsADigestDeletedWhileItsWatchWasDown(t *testing.T) {
	server := etcdtest.Start(t)
	a, _ := joinReplica(t, server, "replica-a", nil)
	b, _ := joinReplica(t, server, "replica-b", nil)
	owner := &fakePoller{owned: map[string]bool{"feed-1": true}, secrets: map[string]string{"feed-1": "secret"}, rung: make(chan string, 4)}
	other := &fakePoller{rung: make(chan string, 4)}
	gone := sha256.Sum256([]byte("old secret"))
	b.relay.mu.Lock()
	b.relay.digests["feed-gone"] = hex.EncodeToString(gone[:]) // learned before the gap, deleted in it
	b.relay.mu.Unlock()
	require.True(t, b.relay.valid("feed-gone", "old secret"), "the stale digest is what the relay starts with")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var relays sync.WaitGroup
	relays.Go(func() { a.RelayDoorbells(ctx, owner) })
	relays.Go(func() { b.RelayDoorbells(ctx, other) })
	require.Eventually(t, func() bool { return b.relay.valid("feed-1", "secret") }, 30*time.Second, 10*time.Millisecond,
		"the owner's digest is learned")
	assert.False(t, b.relay.valid("feed-gone", "old secret"), "the digest deleted in the gap is forgotten")
	assert.False(t, b.Doorbell(other)("feed-gone", "old secret", nil), "its old doorbell URL is refused")
	cancel()
	relays.Wait()
}
