package cluster

import (
	"context"
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
	plans map[string]testPlan
	push  map[string]map[string]testPush
	valid map[string]string // feed id → secret
	owned map[string]bool   // feed ids this replica owns
	rung  chan string       // feed ids rung, here or through RingOwned
	plain atomic.Int32      // calls of Ring
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

func (p *fakePoller) DoorbellValid(id, secret string) bool { return p.valid[id] == secret }

func (p *fakePoller) RingOwned(id string) bool {
	if !p.owned[id] {
		return false
	}
	select {
	case p.rung <- id:
	default: // the test has seen enough
	}
	return true
}

func (p *fakePoller) Ring(id, secret string) bool {
	p.plain.Add(1)
	return p.DoorbellValid(id, secret) && p.RingOwned(id)
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
	}, 10*time.Second, 10*time.Millisecond)
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
	r.RelayDoorbells(context.Background(), func(string) bool { t.Error("nothing is relayed"); return false })

	poll := &fakePoller{valid: map[string]string{"f1": "s"}, owned: map[string]bool{"f1": true}, rung: make(chan string, 1),
		plans: map[string]testPlan{"c1": {Feeds: 2}}, push: map[string]map[string]testPush{"c1": {"7": {State: "trusted"}}}}
	assert.True(t, r.Doorbell(poll)("f1", "s"))
	assert.False(t, r.Doorbell(poll)("f1", "wrong"))
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
// cluster metrics; a replica that is not the feed's owner forwards a valid doorbell to the owner
// through etcd, refuses a wrong one at no cost, and the owner rings it.
func TestDoorbellReachesTheFeedsOwner(t *testing.T) {
	server := etcdtest.Start(t)
	reg := prometheus.NewRegistry()
	a, fence := joinReplica(t, server, "replica-a", reg)
	b, _ := joinReplica(t, server, "replica-b", nil)
	assert.Equal(t, "/app/cluster/members/replica-a", fence.key)
	assert.Equal(t, 3.0, metricValue(t, reg, "hipchat_connector_cluster_fenced_writes_refused_total"))
	assert.Equal(t, 0.0, metricValue(t, reg, "hipchat_connector_cluster_doorbells_forwarded_total"))
	require.NotNil(t, a.Ready())
	require.NoError(t, a.Ready()())

	owner := &fakePoller{owned: map[string]bool{"feed-1": true}, rung: make(chan string, 4)}
	other := &fakePoller{valid: map[string]string{"feed-1": "secret"}, rung: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		a.RelayDoorbells(ctx, owner.RingOwned)
	}()

	assert.False(t, b.Doorbell(other)("feed-1", "wrong"), "a wrong secret is refused")
	assert.EqualValues(t, 1, other.plain.Load(), "…by the poller's own Ring, which counts it")
	// The owner's watch may open after the first forward: ring until it hears one.
	require.Eventually(t, func() bool {
		if !b.Doorbell(other)("feed-1", "secret") {
			return false // not forwarded (no session yet)
		}
		select {
		case id := <-owner.rung:
			return id == "feed-1"
		default:
			return false
		}
	}, 10*time.Second, 50*time.Millisecond, "the owner was not rung")
	assert.Positive(t, b.relay.forwarded.Load(), "counted as forwarded by the replica that received it")
	cancel()
	<-relayed
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
	}, 10*time.Second, 50*time.Millisecond, "the other replica reads the owner's plan")
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
