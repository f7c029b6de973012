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
// until ctx ends. When etcd ends the watch (a lost leader, a connection gone), it watches again
// from the revision of the last change it reported (that one may be reported twice), so that a
// change made meanwhile is reported too. When that history is gone (compacted), or no change was
// heard yet, it calls changed("") — anything may have changed: read everything again — after
// reading etcd's current revision, and watches from just after it: a change is either before that
// revision, and the reading again finds it, or after it, and the watch reports it. changed runs on
// the watching goroutine, one call at a time.
func (s *Store) WatchSubscriptions(ctx context.Context, changed func(id string)) {
	dir := s.key(dirSubscriptions)
	from := int64(0) // the revision to watch from; 0: the current one (the first watch)
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchRetry):
			}
			if from == 0 {
				rev, err := s.currentRevision(ctx)
				if err != nil {
					continue // etcd is away: try again
				}
				changed("")
				from = rev + 1
			}
		}
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
		if from > 0 {
			opts = append(opts, clientv3.WithRev(from))
		}
		for resp := range s.client.Watch(clientv3.WithRequireLeader(ctx), dir, opts...) {
			if resp.CompactRevision != 0 {
				from = 0 // the history to resume from is gone
				break
			}
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if id, ok := settingsChange(ev, dir); ok {
					changed(id)
				}
				from = ev.Kv.ModRevision
			}
		}
	}
}

// currentRevision is etcd's revision now, read without reading any key.
func (s *Store) currentRevision(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, watchRetry*5)
	defer cancel()
	resp, err := s.client.Get(ctx, s.key(dirSubscriptions), clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
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
