package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchRetry is the pause before watching again after etcd ended a watch.
const watchRetry = time.Second

// subscriptionSettings is the part of a subscription record that the poller and the deliverer keep
// in memory: a write that changes none of it (a cursor advance, health after an attempt) is not a
// change they need to hear of.
type subscriptionSettings struct {
	Status               string          `json:"status"`
	CallbackURL          string          `json:"callback_url"`
	SealedSecret         []byte          `json:"sealed_secret"`
	SealedPreviousSecret []byte          `json:"sealed_previous_secret,omitempty"`
	PreviousExpiresAt    time.Time       `json:"previous_secret_expires_at,omitzero"`
	Ordering             string          `json:"ordering,omitempty"`
	MaxPerSecond         float64         `json:"max_per_second,omitempty"`
	SealedToken          json.RawMessage `json:"sealed_token"`
}

// WatchSubscriptions calls changed with the id of each subscription any writer sharing the prefix
// (another replica, or this one) creates, deletes, or changes in its settings (status, callback,
// secrets, ordering, rate, token); cursor advances and health updates are passed over. It runs
// until ctx ends. When etcd ends the watch (compaction, a lost connection), it calls changed("")
// — anything may have changed: read everything again — and watches anew from the current
// revision. changed runs on the watching goroutine, one call at a time.
func (s *Store) WatchSubscriptions(ctx context.Context, changed func(id string)) {
	dir := s.key(dirSubscriptions)
	for ctx.Err() == nil {
		for resp := range s.client.Watch(clientv3.WithRequireLeader(ctx), dir, clientv3.WithPrefix(), clientv3.WithPrevKV()) {
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if id, ok := settingsChange(ev, dir); ok {
					changed(id)
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		changed("")
		select {
		case <-ctx.Done():
		case <-time.After(watchRetry):
		}
	}
}

// settingsChange returns the subscription id of ev when it creates or deletes a subscription or
// changes its settings.
func settingsChange(ev *clientv3.Event, dir string) (string, bool) {
	id, err := unesc(strings.TrimPrefix(string(ev.Kv.Key), dir))
	if err != nil || id == "" {
		return "", false
	}
	if ev.Type == clientv3.EventTypeDelete || ev.IsCreate() || ev.PrevKv == nil {
		return id, true
	}
	var before, after subscriptionSettings
	if json.Unmarshal(ev.PrevKv.Value, &before) != nil || json.Unmarshal(ev.Kv.Value, &after) != nil {
		return id, true
	}
	same := before.Status == after.Status && before.CallbackURL == after.CallbackURL &&
		bytes.Equal(before.SealedSecret, after.SealedSecret) &&
		bytes.Equal(before.SealedPreviousSecret, after.SealedPreviousSecret) &&
		before.PreviousExpiresAt.Equal(after.PreviousExpiresAt) && before.Ordering == after.Ordering &&
		before.MaxPerSecond == after.MaxPerSecond && bytes.Equal(before.SealedToken, after.SealedToken)
	return id, !same
}
