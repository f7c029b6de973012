package etcd_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// The subscriptions of testdata/schema-v1.json, every key the version-1 code wrote under its
// prefix: a best-effort one with a UUID (delivered, retried, dead and resent, waiting), a FIFO one
// (its head retried), a paused one, and a best-effort one whose id needs escaping (one retried
// 3 min later, one delivered).
const (
	v1Best   = "4a1c5e7e-9b1d-4f3e-8a2b-0c6d7e8f9a01"
	v1FIFO   = "v1-fifo"
	v1Paused = "6f0e2d1c-3b4a-4958-9786-a5b4c3d2e1f0"
	v1More   = "v1 more/odd"
)

// v1World is what a caller reads of the fixture; testdata/schema-v1.read.json is what the
// version-1 code read of it.
type v1World struct {
	Deliveries map[string][]state.Delivery
	Pending    map[string]int
	Due        map[string][]string // "+0s", "+1m0s", "+3m0s" → subscription/event ids, in order
	Stats      state.PendingStats
}

// TestMigratesV1ToV2 writes the keys of a version-1 prefix and opens it: what is due at +0s, +1m
// and +3m comes out exactly as the version-1 code listed it, now from the index by subscription,
// whose heads are true; the old index is gone. Then the prefix goes on like a new one.
func TestMigratesV1ToV2(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	ctx := context.Background()
	raw, err := os.ReadFile("testdata/schema-v1.json")
	require.NoError(t, err)
	var kvs map[string][]byte // values base64 in the JSON: sealed ones are binary
	require.NoError(t, json.Unmarshal(raw, &kvs))
	const prefix = "/fixture/" // the prefix the version-1 code wrote under (its sealed keys name it)
	for k, v := range kvs {
		_, err := client.Put(ctx, prefix+k, string(v))
		require.NoError(t, err)
	}
	clk := manualclock.New(time.Date(2026, 3, 1, 12, 0, 3, 0, time.UTC)) // where the version-1 code's clock stood
	s, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(7), Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	want, err := os.ReadFile("testdata/schema-v1.read.json")
	require.NoError(t, err)
	got, err := json.MarshalIndent(readV1World(t, s, clk.Now()), "", "  ")
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	require.NoError(t, etcd.CheckHeads(s))
	version, err := client.Get(ctx, prefix+"meta/schema_version")
	require.NoError(t, err)
	assert.Equal(t, "2", string(version.Kvs[0].Value))
	old, err := client.Get(ctx, prefix+"due/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.Zero(t, old.Count, "version 1's index is gone")
	pending, err := client.Get(ctx, prefix+"pending/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	require.Len(t, pending.Kvs, 3, "only the FIFO queue keeps its pending entries")
	for _, kv := range pending.Kvs {
		assert.Contains(t, string(kv.Key), "/pending/"+v1FIFO+"/")
	}

	again, err := etcd.Open(ctx, etcd.Options{Client: client, Prefix: prefix, Key: testKey(7), Now: clk.Now})
	require.NoError(t, err, "a migrated prefix opens as it is")
	require.NoError(t, again.Close())

	clk.Advance(3 * time.Minute)
	require.NoError(t, s.RecordAttempt(v1More, 2, state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, s.RecordAttempt(v1FIFO, 1, state.Attempt{StatusCode: 204}, state.Delivered()))
	require.NoError(t, s.CommitFeed([]state.CursorAdvance{{SubscriptionID: v1More, Events: []state.Event{{ID: "e1", Type: "message.posted", Payload: []byte(`{}`)}}}}))
	due, err := s.DueDeliveries(clk.Now(), 0, nil)
	require.NoError(t, err)
	var ids []string
	for _, d := range due {
		ids = append(ids, d.SubscriptionID+"/"+d.EventID)
	}
	assert.Equal(t, []string{v1FIFO + "/b2", v1Best + "/a4", v1More + "/d1", v1More + "/d4", v1Best + "/a3", v1Best + "/a5", v1Best + "/a2", v1More + "/e1"}, ids,
		"the FIFO queue's next head, due since it was queued, first")
	n, err := s.PendingCount(v1More)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "d1, d4 and e1")
	st, err := s.Stats()
	require.NoError(t, err)
	assert.Equal(t, 10, st.Pending, "4 of the UUID one, 2 of the FIFO one, the paused one's, 3 of v1More")
	require.NoError(t, s.DeleteSubscription(v1More))
	require.NoError(t, etcd.CheckHeads(s))
}

func readV1World(t *testing.T, s *etcd.Store, now time.Time) v1World {
	t.Helper()
	w := v1World{Deliveries: map[string][]state.Delivery{}, Pending: map[string]int{}, Due: map[string][]string{}}
	for _, id := range []string{v1Best, v1FIFO, v1Paused, v1More} {
		log, err := s.Deliveries(id, 0)
		require.NoError(t, err)
		w.Deliveries[id] = log
		w.Pending[id], err = s.PendingCount(id)
		require.NoError(t, err)
	}
	for _, after := range []time.Duration{0, time.Minute, 3 * time.Minute} {
		due, err := s.DueDeliveries(now.Add(after), 0, nil)
		require.NoError(t, err)
		ids := []string{}
		for _, d := range due {
			ids = append(ids, d.SubscriptionID+"/"+d.EventID)
		}
		w.Due["+"+after.String()] = ids
	}
	var err error
	w.Stats, err = s.Stats()
	require.NoError(t, err)
	return w
}
