package cluster

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
)

// sharedBudgets returns n replicas' budgets on one embedded etcd, each with its own client.
func sharedBudgets(t *testing.T, n int, opts BudgetOptions) []*SharedBudget {
	t.Helper()
	server := etcdtest.Start(t)
	out := make([]*SharedBudget, n)
	for i := range out {
		b, err := NewSharedBudget(server.Client(t), "/hc", "replica-"+string(rune('a'+i)), opts)
		require.NoError(t, err)
		t.Cleanup(b.Close)
		out[i] = b
	}
	return out
}

// take takes one call of key and class from b. A reservation etcd answered after the block's life
// ended (errEtcdTooSlow, on a loaded machine) refuses the call without spending it, so take asks
// again: the tests below are about how much the budget admits, not how fast etcd is.
func take(b *SharedBudget, key, class string) (time.Duration, error) {
	for {
		retry, err := b.Take(context.Background(), key, class)
		if !errors.Is(err, errEtcdTooSlow) {
			return retry, err
		}
	}
}

// takeAll takes calls of key and class from b until the shared budget refuses one; it returns how
// many it got.
func takeAll(t *testing.T, b *SharedBudget, key, class string) int {
	t.Helper()
	got := 0
	for {
		_, err := take(b, key, class)
		if errors.Is(err, ErrOverBudget) {
			return got
		}
		require.NoError(t, err)
		got++
	}
}

// maxInWindow is the most of the sorted instants at that fall in any closed window of length w.
func maxInWindow(at []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// Three replicas, each with a foreground and a background caller taking calls of one connection as
// fast as the budget lets them for three windows: no window of that length, over all replicas
// together, holds more than Limit calls, nor more of a class than its ClassMax; and the budget is
// used (more than one window's worth admitted over the run).
//
// On a loaded machine etcd may answer a reservation after the block's life ended; Take then
// refuses the call (errEtcdTooSlow), which is the budget holding, not failing. So the callers treat
// it as a refusal, and they go on past the three windows (up to a minute) until more than a
// window's worth was admitted and every replica has reserved a block (a starved goroutine may take
// its first turn late).
func TestSharedBudgetHoldsOverEveryReplica(t *testing.T) {
	opts := BudgetOptions{Limit: 30, Window: 2 * time.Second, ClassMax: map[string]int{"foreground": 27, "background": 22},
		BlockSize: 4, BlockLife: 300 * time.Millisecond}
	budgets := sharedBudgets(t, 3, opts)
	var mu sync.Mutex
	admitted := map[string][]time.Time{}
	tooSlow := map[*SharedBudget]uint64{}
	started := time.Now()
	running := func() bool {
		mu.Lock()
		defer mu.Unlock()
		elapsed := time.Since(started)
		used := len(admitted["foreground"])+len(admitted["background"]) > opts.Limit
		for _, b := range budgets {
			used = used && b.Reserved() > 0
		}
		return elapsed < 3*opts.Window || (!used && elapsed < time.Minute)
	}
	var wg sync.WaitGroup
	for _, b := range budgets {
		for _, class := range []string{"foreground", "background"} {
			wg.Go(func() {
				for running() {
					retry, err := b.Take(context.Background(), "conn1", class)
					if errors.Is(err, errEtcdTooSlow) {
						mu.Lock()
						tooSlow[b]++
						mu.Unlock()
						continue
					}
					if err != nil {
						assert.ErrorIs(t, err, ErrOverBudget)
						time.Sleep(min(retry, 50*time.Millisecond))
						continue
					}
					mu.Lock()
					admitted[class] = append(admitted[class], time.Now())
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	t.Logf("reservations that came back after their block's life, refused: %v", slices.Collect(maps.Values(tooSlow)))
	all := slices.Concat(admitted["foreground"], admitted["background"])
	slices.SortFunc(all, time.Time.Compare)
	t.Logf("admitted %d foreground and %d background calls over %s; most in any %s: %d (limit %d)",
		len(admitted["foreground"]), len(admitted["background"]), 3*opts.Window, opts.Window, maxInWindow(all, opts.Window), opts.Limit)
	assert.LessOrEqual(t, maxInWindow(all, opts.Window), opts.Limit)
	for class, at := range admitted {
		slices.SortFunc(at, time.Time.Compare)
		assert.LessOrEqual(t, maxInWindow(at, opts.Window), opts.ClassMax[class], class)
	}
	assert.Greater(t, len(all), opts.Limit, "the budget is used, window after window")
	for _, b := range budgets {
		assert.Positive(t, b.Reserved())
		assert.Equal(t, tooSlow[b], b.Unreachable(), "no refusal but the reservations etcd answered too late")
	}
}

// Within one window, the class caps hold over the replicas exactly: foreground callers on two
// replicas get ClassMax between them, and background then only what is left of Limit.
func TestSharedBudgetClassCapsAddUpExactly(t *testing.T) {
	opts := BudgetOptions{Limit: 30, Window: time.Minute, ClassMax: map[string]int{"foreground": 27, "background": 22},
		BlockSize: 4, BlockLife: 200 * time.Millisecond}
	budgets := sharedBudgets(t, 2, opts)
	foreground := 0
	require.Eventually(t, func() bool {
		foreground += takeAll(t, budgets[0], "conn1", "foreground") + takeAll(t, budgets[1], "conn1", "foreground")
		return foreground == 27
	}, 30*time.Second, 50*time.Millisecond, "the blocks' unused calls are handed back until both replicas together have 27")
	background := 0
	require.Eventually(t, func() bool {
		background += takeAll(t, budgets[1], "conn1", "background")
		return background == 3
	}, 30*time.Second, 50*time.Millisecond)
	time.Sleep(2 * opts.BlockLife) // blocks handed back: still no more than the window allows
	assert.Zero(t, takeAll(t, budgets[0], "conn1", "foreground")+takeAll(t, budgets[1], "conn1", "background"))
	assert.Equal(t, 30, takeAll(t, budgets[0], "conn2", "other"), "another connection has its own budget; a class without a cap has Limit")
}

// A replica that took a block and made one call hands the rest back when the block's life ends, so
// another replica can use the whole budget but that one call within the same window. The block
// lives 2 s (the default), so that the other replica's reservations (two etcd round trips) fit
// within it however loaded the machine.
func TestSharedBudgetHandsBackWhatAnIdleReplicaDidNotUse(t *testing.T) {
	opts := BudgetOptions{Limit: 20, Window: time.Minute, BlockSize: 10, BlockLife: 2 * time.Second}
	budgets := sharedBudgets(t, 2, opts)
	_, err := take(budgets[0], "conn1", "foreground")
	require.NoError(t, err)
	got := takeAll(t, budgets[1], "conn1", "foreground")
	assert.Equal(t, 10, got, "the other replica's block of 10 is reserved while it lives")
	require.Eventually(t, func() bool {
		got += takeAll(t, budgets[1], "conn1", "foreground")
		return got == 19
	}, 30*time.Second, 20*time.Millisecond)
}

// A replica that cannot reach etcd takes nothing: Take fails with etcd's error (not ErrOverBudget)
// within the operation timeout, and counts it.
func TestSharedBudgetRefusesWithoutEtcd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	b, err := NewSharedBudget(client, "/hc", "replica-a", BudgetOptions{Limit: 100, Window: time.Minute, OpTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(b.Close)
	retry, err := b.Take(context.Background(), "conn1", "foreground")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrOverBudget)
	assert.Equal(t, time.Second, retry)
	assert.Equal(t, uint64(1), b.Unreachable())
}

func TestSharedBudgetRefusesBadArguments(t *testing.T) {
	_, err := NewSharedBudget(nil, "/hc", "", BudgetOptions{Limit: 1, Window: time.Second})
	assert.Error(t, err)
	_, err = NewSharedBudget(nil, "/hc", "a", BudgetOptions{Window: time.Second})
	assert.Error(t, err)
	b, err := NewSharedBudget(nil, "/hc", "a", BudgetOptions{Limit: 1, Window: time.Second})
	require.NoError(t, err)
	_, err = b.Take(context.Background(), "a/b", "foreground")
	assert.ErrorContains(t, err, "budget key")
}
