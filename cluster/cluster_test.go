package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

const testKeys = 1000

func keys() []string {
	out := make([]string, testKeys)
	for i := range out {
		out[i] = fmt.Sprintf("conn-%d/room-%d", i%37, i)
	}
	return out
}

// owners maps each key to the members that say they own it.
func owners(members []*Member) map[string][]string {
	got := map[string][]string{}
	for _, k := range keys() {
		for _, m := range members {
			if m.Owns(k) {
				got[k] = append(got[k], m.ID())
			}
		}
	}
	return got
}

func join(t *testing.T, server *etcdtest.Server, id string) *Member {
	t.Helper()
	m, err := Join(context.Background(), server.Client(t), "/cl", time.Second, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func waitMembers(t *testing.T, want int, members ...*Member) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, m := range members {
			if len(m.Members()) != want {
				return false
			}
		}
		return true
	}, 30*time.Second, 10*time.Millisecond, "waiting for %d members", want)
}

// TestThreeMembersOwnEachKeyOnce: three members spread 1,000 keys, each owned by exactly one, none
// with far more than its share; when one leaves (Close revokes its lease) its keys move to the
// others and the survivors' keys stay put.
func TestThreeMembersOwnEachKeyOnce(t *testing.T) {
	server := etcdtest.Start(t)
	a, b, c := join(t, server, "a"), join(t, server, "b"), join(t, server, "c")
	waitMembers(t, 3, a, b, c)
	assert.Equal(t, []string{"a", "b", "c"}, a.Members())
	for _, m := range []*Member{a, b, c} {
		assert.True(t, m.Ready())
		assert.NotZero(t, m.Lease())
	}

	before := owners([]*Member{a, b, c})
	count := map[string]int{}
	for k, who := range before {
		require.Len(t, who, 1, "key %s", k)
		count[who[0]]++
	}
	require.Len(t, before, testKeys)
	for id, n := range count {
		assert.InDelta(t, testKeys/3, n, 80, "member %s owns %d", id, n)
	}

	lease := c.Lease()
	require.NoError(t, c.Close())
	ttl, err := server.Client(t).TimeToLive(context.Background(), lease)
	require.NoError(t, err)
	assert.EqualValues(t, -1, ttl.TTL, "Close revoked the lease: the others need not wait for its TTL")
	assert.False(t, c.Ready())
	assert.False(t, c.Owns(keys()[0]), "a member that left owns nothing")
	waitMembers(t, 2, a, b)
	after := owners([]*Member{a, b})
	require.Len(t, after, testKeys)
	for k, who := range after {
		require.Len(t, who, 1, "key %s", k)
		if before[k][0] != "c" {
			assert.Equal(t, before[k], who, "key %s stays with its owner", k)
		}
	}
}

// TestADeadMemberKeysMoveWithinTheTTL: a member whose process dies (its client closes without
// revoking the lease) stops being a member when its lease of the TTL it asked for expires, and its
// keys move. How soon etcd expires a lease is etcd's clock and the machine's speed, so the test
// checks what the member controls: the lease was granted with the TTL asked (1 s), nothing kept it
// alive after the process died (etcd expired it: no revoke was sent), and the others then dropped
// the member and took its keys.
func TestADeadMemberKeysMoveWithinTheTTL(t *testing.T) {
	server := etcdtest.Start(t)
	a, b := join(t, server, "a"), join(t, server, "b")
	deadClient := server.Client(t)
	dead, err := Join(context.Background(), deadClient, "/cl", time.Second, "dead")
	require.NoError(t, err)
	waitMembers(t, 3, a, b, dead)
	var deadKeys []string
	for k, who := range owners([]*Member{a, b, dead}) {
		if who[0] == "dead" {
			deadKeys = append(deadKeys, k)
		}
	}
	require.NotEmpty(t, deadKeys)

	lease := dead.Lease()
	granted, err := server.Client(t).TimeToLive(context.Background(), lease)
	require.NoError(t, err)
	assert.EqualValues(t, 1, granted.GrantedTTL, "the session's lease has the TTL asked for")
	killed := time.Now()
	require.NoError(t, deadClient.Close()) // no revoke: the lease has to expire
	waitMembers(t, 2, a, b)
	t.Logf("the dead member's %d keys moved after %s (TTL 1s)", len(deadKeys), time.Since(killed))
	expired, err := server.Client(t).TimeToLive(context.Background(), lease)
	require.NoError(t, err)
	assert.EqualValues(t, -1, expired.TTL, "the lease expired: nothing renewed it after the process died")
	for _, k := range deadKeys {
		assert.True(t, a.Owns(k) != b.Owns(k), "key %s has exactly one new owner", k)
	}
	_ = dead.Close()
}

func TestJoinRefusesAnIDHeldByALiveMember(t *testing.T) {
	server := etcdtest.Start(t)
	join(t, server, "x")
	_, err := Join(context.Background(), server.Client(t), "/cl", time.Second, "x")
	assert.ErrorContains(t, err, "held by another live member")
	_, err = Join(context.Background(), server.Client(t), "/cl", time.Second, "a/b")
	assert.Error(t, err)
}

func TestTrackerCountsOwnedKeysAndMoves(t *testing.T) {
	owned := map[string]bool{"k1": true, "k2": false}
	tr := NewTracker(func(k string) bool { return owned[k] })
	assert.True(t, tr.Owns("k1"))
	assert.False(t, tr.Owns("k2"))
	assert.Equal(t, 1, tr.Owned())
	assert.Zero(t, tr.Moves())
	owned["k1"], owned["k2"] = false, true
	tr.Owns("k1")
	tr.Owns("k2")
	assert.Equal(t, 1, tr.Owned())
	assert.EqualValues(t, 2, tr.Moves())
}

// TestTrackerForgetsKeysNoLongerAskedAbout: a key not asked about for trackerStale (the feed of a
// deleted subscription) drops out of Owned; one asked about again counts again.
func TestTrackerForgetsKeysNoLongerAskedAbout(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tr := NewTracker(func(string) bool { return true })
	tr.now = func() time.Time { return now }
	tr.Owns("kept")
	tr.Owns("deleted")
	assert.Equal(t, 2, tr.Owned())
	now = now.Add(trackerStale)
	tr.Owns("kept")
	assert.Equal(t, 2, tr.Owned(), "stale only past trackerStale")
	now = now.Add(time.Second)
	assert.Equal(t, 1, tr.Owned(), "the key not asked about is forgotten")
	tr.Owns("deleted")
	assert.Equal(t, 2, tr.Owned())
	assert.Zero(t, tr.Moves(), "forgetting is not a move")
}

func TestOwnerWithoutMembersIsNobody(t *testing.T) {
	assert.Equal(t, "", Owner("k", nil))
	assert.Equal(t, "only", Owner("k", []string{"only"}))
}

// TestCloseAfterTheLeaseIsGone: a member whose lease etcd already dropped (expired while the
// process was paused) leaves without an error: there is nothing left to revoke.
func TestCloseAfterTheLeaseIsGone(t *testing.T) {
	server := etcdtest.Start(t)
	m, err := Join(context.Background(), server.Client(t), "/cl", time.Second, "gone")
	require.NoError(t, err)
	_, err = server.Client(t).Revoke(context.Background(), m.Lease())
	require.NoError(t, err)
	assert.NoError(t, m.Close())
}
