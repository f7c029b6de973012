package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// TestACommitAfterTheLeaseIsRevokedIsRefused: a fenced store commits while its member's lease
// holds; once the lease is revoked (expired, as for a replica cut off from etcd), a replica that
// still believes in its old lease has its commit refused by etcd (ErrFenced, counted), and
// nothing of it is written.
func TestACommitAfterTheLeaseIsRevokedIsRefused(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	s, prefix := openWithSubscription(t, client, testKey(9), "a")
	member, err := cluster.Join(ctx, client, prefix+"cluster/", time.Second, "m1")
	require.NoError(t, err)
	defer member.Close()
	lease := member.Lease()
	s.FenceWith(member.Key(), func() clientv3.LeaseID { return lease }) // a replica that has not noticed yet

	commit := func(id string) error {
		return s.CommitFeed([]state.CursorAdvance{{SubscriptionID: "a", Cursor: []byte(id),
			Events: []state.Event{{ID: id, Payload: []byte(`{}`)}}}})
	}
	require.NoError(t, commit("e1"))
	_, err = client.Revoke(ctx, lease)
	require.NoError(t, err)
	err = commit("e2")
	require.ErrorIs(t, err, etcd.ErrFenced)
	assert.EqualValues(t, 1, s.FencedWritesRefused())
	sub, err := s.Subscription("a")
	require.NoError(t, err)
	assert.Equal(t, []byte("e1"), sub.Cursor, "the fenced commit wrote nothing")
	log, err := s.Deliveries("a", 0)
	require.NoError(t, err)
	assert.Len(t, log, 1)

	// A replica that knows it has no session refuses without asking etcd.
	s.FenceWith(member.Key(), func() clientv3.LeaseID { return clientv3.NoLease })
	require.ErrorIs(t, commit("e3"), etcd.ErrFenced)
	assert.EqualValues(t, 2, s.FencedWritesRefused())

	// The member joins again with a new lease, and its commits go through again.
	require.Eventually(t, func() bool { return member.Ready() && member.Lease() != lease }, 10*time.Second, 20*time.Millisecond)
	s.FenceWith(member.Key(), member.Lease)
	require.NoError(t, commit("e4"))
}
