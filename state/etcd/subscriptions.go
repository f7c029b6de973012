package etcd

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// CreateSubscription stores sub and returns it as stored, as
// bolt.Store.CreateSubscription does: an empty ID gets a random one, an
// empty Status becomes state.StatusActive, a zero CreatedAt becomes now.
//
// Errors: state.ErrInvalid (state.ValidateSubscription); state.ErrExists when
// the ID is taken; etcd errors.
func (s *Store) CreateSubscription(sub state.Subscription) (state.Subscription, error) {
	if sub.ID == "" {
		sub.ID = uuid.NewString()
	}
	if sub.Status == "" {
		sub.Status = state.StatusActive
	}
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = s.now()
	}
	sub.CreatedAt = sub.CreatedAt.UTC()
	sub.Cursor = slices.Clone(sub.Cursor)
	if err := state.ValidateSubscription(sub); err != nil {
		return state.Subscription{}, wrap("create subscription", err)
	}
	rec, err := s.sealer.SealSubscription(sub)
	if err != nil {
		return state.Subscription{}, wrap("create subscription", err)
	}
	sub.Ordering = rec.Ordering
	err = s.update(func(t *tx) error {
		if _, ok, err := t.get(s.subscriptionKey(sub.ID)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%w: subscription %q", state.ErrExists, sub.ID)
		}
		if err := t.putSubscription(rec); err != nil {
			return err
		}
		t.put(s.connectionKey(sub.ConnectionID, sub.ID), nil)
		return nil
	})
	if err != nil {
		return state.Subscription{}, wrap("create subscription", err)
	}
	return sub, nil
}

// Subscription returns the subscription with the given id, secrets in clear.
//
// Errors: state.ErrNotFound; state.ErrWrongKey when its secrets cannot be
// unsealed; etcd errors.
func (s *Store) Subscription(id string) (state.Subscription, error) {
	ctx, cancel := s.op()
	defer cancel()
	rec, err := s.newTx(ctx).getSubscription(id)
	if err != nil {
		return state.Subscription{}, wrap("get subscription", err)
	}
	sub, err := s.sealer.OpenSubscription(rec)
	return sub, wrap("get subscription", err)
}

// SubscriptionsOf returns the subscriptions of one connection, ordered by id.
// None is not an error.
//
// Errors: state.ErrWrongKey when secrets cannot be unsealed; etcd errors.
func (s *Store) SubscriptionsOf(connectionID string) ([]state.Subscription, error) {
	ctx, cancel := s.op()
	defer cancel()
	resp, err := s.client.Get(ctx, s.connectionDir(connectionID), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, wrap("list subscriptions", err)
	}
	keys := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		id, err := unesc(strings.TrimPrefix(string(kv.Key), s.connectionDir(connectionID)))
		if err != nil {
			return nil, wrap("list subscriptions", err)
		}
		keys = append(keys, s.subscriptionKey(id))
	}
	values, err := s.getMany(ctx, keys)
	if err != nil {
		return nil, wrap("list subscriptions", err)
	}
	var recs []*state.SubscriptionRecord
	for i, v := range values {
		if v == nil {
			continue // deleted between the two reads
		}
		rec, err := decodeSubscription(keys[i], v)
		if err != nil {
			return nil, wrap("list subscriptions", err)
		}
		recs = append(recs, rec)
	}
	return s.sortedSubscriptions("list subscriptions", recs)
}

// PolledSubscriptions returns every subscription the poller reads (active
// or paused), ordered by id, tokens in clear.
//
// Errors: state.ErrWrongKey when secrets cannot be unsealed; etcd errors.
func (s *Store) PolledSubscriptions() ([]state.Subscription, error) {
	all, err := s.readSubscriptions("list polled subscriptions")
	if err != nil {
		return nil, err
	}
	var recs []*state.SubscriptionRecord
	for _, rec := range all {
		if rec.Polled() {
			recs = append(recs, rec)
		}
	}
	return s.sortedSubscriptions("list polled subscriptions", recs)
}

// sortedSubscriptions unseals recs ordered by id (escaping can reorder keys).
func (s *Store) sortedSubscriptions(op string, recs []*state.SubscriptionRecord) ([]state.Subscription, error) {
	slices.SortFunc(recs, func(a, b *state.SubscriptionRecord) int { return strings.Compare(a.ID, b.ID) })
	subs, err := s.sealer.OpenSubscriptions(recs)
	if err != nil {
		return nil, wrap(op, err)
	}
	return subs, nil
}

// SetStatus sets a subscription's status and the reason shown to operators.
//
// Errors: state.ErrInvalid for an unknown status; state.ErrNotFound; etcd errors.
func (s *Store) SetStatus(id string, status state.Status, reason string) error {
	_, err := s.UpdateStatus(id, status, reason)
	return err
}

// UpdateStatus is SetStatus that returns the subscription as it now is.
//
// Errors: state.ErrInvalid for an unknown status; state.ErrNotFound;
// state.ErrWrongKey; etcd errors.
func (s *Store) UpdateStatus(id string, status state.Status, reason string) (state.Subscription, error) {
	if err := status.Check(); err != nil {
		return state.Subscription{}, fmt.Errorf("etcd store: set status: %w", err)
	}
	var rec *state.SubscriptionRecord
	err := s.update(func(t *tx) error {
		var err error
		if rec, err = t.getSubscription(id); err != nil {
			return err
		}
		rec.Status, rec.StatusReason = status, reason
		return t.putSubscription(rec)
	})
	if err != nil {
		return state.Subscription{}, wrap("set status", err)
	}
	sub, err := s.sealer.OpenSubscription(rec)
	return sub, wrap("set status", err)
}

// DeleteSubscription deletes a subscription with its cursor, outbox, delivery
// log and queue, in one transaction whatever their length: each of its
// directories goes whole (one operation), and its head with them.
//
// Errors: state.ErrNotFound (deleting twice); etcd errors.
func (s *Store) DeleteSubscription(id string) error {
	err := s.update(func(t *tx) error {
		rec, err := t.getSubscription(id)
		if err != nil {
			return err
		}
		if _, err := t.touchOutbox(id); err != nil { // read for its revision; deleted below
			return err
		}
		t.del(s.subscriptionKey(id))
		t.del(s.connectionKey(rec.ConnectionID, id))
		t.del(s.outboxKey(id))
		t.deletePrefix(s.logDir(id))
		t.deletePrefix(s.idsDir(id))
		t.deletePrefix(s.pendingDir(id))
		return t.clearReady(id)
	})
	return wrap("delete subscription", err)
}

// RotateSecret makes secret the subscription's signing secret; the one it
// replaces keeps signing beside it until previousExpiresAt (a zero time drops
// it at once). It returns the subscription as it now is.
//
// Errors: state.ErrNotFound; state.ErrInvalid for an empty secret; etcd errors.
func (s *Store) RotateSecret(subID, secret string, previousExpiresAt time.Time) (state.Subscription, error) {
	if secret == "" {
		return state.Subscription{}, fmt.Errorf("etcd store: rotate secret: %w: secret is empty", state.ErrInvalid)
	}
	sealed, err := s.sealer.SealSecret(subID, secret)
	if err != nil {
		return state.Subscription{}, wrap("rotate secret", err)
	}
	var rec *state.SubscriptionRecord
	err = s.update(func(t *tx) error {
		var err error
		if rec, err = t.getSubscription(subID); err != nil {
			return err
		}
		if err := s.sealer.RotateSecret(rec, sealed, previousExpiresAt); err != nil {
			return err
		}
		return t.putSubscription(rec)
	})
	if err != nil {
		return state.Subscription{}, wrap("rotate secret", err)
	}
	sub, err := s.sealer.OpenSubscription(rec)
	return sub, wrap("rotate secret", err)
}
