package cluster

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

// limiterOn is the shared limiter of a replica on client, with a budget of limit calls.
func limiterOn(t *testing.T, client *clientv3.Client, member string, limit int) *SharedLimiter {
	t.Helper()
	l, err := NewSharedLimiter(client, "/t/cluster/", member, connector.NewLimiter(connector.LimiterOptions{Limit: limit}))
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

// The shared limiter says whose budget refused a call: the connector's (the replicas together
// spent it), HipChat's (this replica saw HipChat's hold), or the shared budget's own absence.
func TestSharedLimiterNamesWhoseBudgetRefused(t *testing.T) {
	ctx := context.Background()
	etcd := etcdtest.Start(t)
	l := limiterOn(t, etcd.Client(t), "replica-a", 10)
	for range 9 { // ForegroundMax of 10 is 9
		_, ok := l.Take(ctx, "conn1", connector.Foreground)
		require.True(t, ok)
	}
	refusal, ok := l.Take(ctx, "conn1", connector.Foreground)
	assert.False(t, ok)
	assert.Equal(t, connector.BudgetConnector, refusal.Budget)
	assert.Positive(t, refusal.RetryAfter)

	l.BlockUntil("conn2", time.Now().Add(time.Minute))
	refusal, ok = l.Take(ctx, "conn2", connector.Foreground)
	assert.False(t, ok)
	assert.Equal(t, connector.BudgetHipChat, refusal.Budget)
	assert.InDelta(t, time.Minute.Seconds(), refusal.RetryAfter.Seconds(), 1)
	other := limiterOn(t, etcd.Client(t), "replica-b", 10)
	require.Eventually(t, func() bool {
		refusal, ok := other.Take(ctx, "conn2", connector.Foreground)
		return !ok && refusal.Budget == connector.BudgetHipChat
	}, 30*time.Second, 20*time.Millisecond, "another replica hears of HipChat's hold and keeps it too")
	_, ok = other.Take(ctx, "conn3", connector.Foreground)
	assert.True(t, ok, "only that connection is held")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	nobody := ln.Addr().String()
	require.NoError(t, ln.Close())
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{nobody}, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	refusal, ok = limiterOn(t, client, "replica-c", 10).Take(ctx, "conn1", connector.Foreground)
	assert.False(t, ok, "no etcd, no call")
	assert.Equal(t, connector.BudgetShared, refusal.Budget)
	assert.Equal(t, time.Second, refusal.RetryAfter)
}
