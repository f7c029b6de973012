package bolt

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// CreateSubscription stores sub and returns it as stored. An empty ID gets a
// random one, an empty Status becomes StatusActive, a zero CreatedAt becomes
// now. The cursor may be nil (the poller baselines it on its first read).
//
// Errors: ErrInvalid when an id is malformed, Kind or Status is unknown,
// RoomID is missing for a room-scoped kind (or given for triggers.KindRoom), or
// CallbackURL, Token or Secret is empty; ErrExists when the ID is taken.
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
	sub.Cursor = cloneBytes(sub.Cursor)
	if err := state.ValidateSubscription(sub); err != nil {
		return state.Subscription{}, fmt.Errorf("state: create subscription: %w", err)
	}
	rec, err := s.sealer.SealSubscription(sub)
	if err != nil {
		return state.Subscription{}, err
	}
	sub.Ordering = rec.Ordering
	err = s.update(func(tx *bbolt.Tx) error {
		subs := tx.Bucket(bucketSubscriptions)
		if subs.Get([]byte(sub.ID)) != nil {
			return fmt.Errorf("%w: subscription %q", state.ErrExists, sub.ID)
		}
		if err := putSubscription(subs, rec); err != nil {
			return err
		}
		conn, err := tx.Bucket(bucketConnections).CreateBucketIfNotExists([]byte(sub.ConnectionID))
		if err != nil {
			return err
		}
		return conn.Put([]byte(sub.ID), nil)
	})
	if err != nil {
		return state.Subscription{}, wrapTx("create subscription", err)
	}
	return sub, nil
}

// Subscription returns the subscription with the given id, secrets in clear.
// It does not check who asks: handlers compare ConnectionID with the caller's.
//
// Errors: ErrNotFound; ErrWrongKey when its secrets cannot be unsealed.
func (s *Store) Subscription(id string) (state.Subscription, error) {
	var rec *state.SubscriptionRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		rec, err = getSubscription(tx, id)
		return err
	})
	if err != nil {
		return state.Subscription{}, wrapTx("get subscription", err)
	}
	sub, err := s.sealer.OpenSubscription(rec)
	return sub, wrapTx("get subscription", err)
}

// SubscriptionsOf returns the subscriptions of one connection, ordered by id.
// None is not an error.
//
// Errors: ErrWrongKey when secrets cannot be unsealed.
func (s *Store) SubscriptionsOf(connectionID string) ([]state.Subscription, error) {
	var recs []*state.SubscriptionRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		conn := tx.Bucket(bucketConnections).Bucket([]byte(connectionID))
		if conn == nil {
			return nil
		}
		return conn.ForEach(func(k, _ []byte) error {
			rec, err := getSubscription(tx, string(k))
			if err != nil {
				return err
			}
			recs = append(recs, rec)
			return nil
		})
	})
	if err != nil {
		return nil, wrapTx("list subscriptions", err)
	}
	subs, err := s.sealer.OpenSubscriptions(recs)
	return subs, wrapTx("list subscriptions", err)
}

// PolledSubscriptions returns every subscription the poller reads (active
// or paused), ordered by id, tokens in clear: the poller's work list.
//
// Errors: ErrWrongKey when secrets cannot be unsealed.
func (s *Store) PolledSubscriptions() ([]state.Subscription, error) {
	var recs []*state.SubscriptionRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSubscriptions).ForEach(func(k, v []byte) error {
			rec, err := decodeSubscription(k, v)
			if err != nil {
				return err
			}
			if rec.Polled() {
				recs = append(recs, rec)
			}
			return nil
		})
	})
	if err != nil {
		return nil, wrapTx("list polled subscriptions", err)
	}
	subs, err := s.sealer.OpenSubscriptions(recs)
	return subs, wrapTx("list polled subscriptions", err)
}

// SetStatus sets a subscription's status and the reason shown to operators
// (e.g. "HipChat answered 401"). Setting StatusActive resumes polling and
// delivery where they stopped.
//
// Errors: ErrInvalid for an unknown status; ErrNotFound.
func (s *Store) SetStatus(id string, status state.Status, reason string) error {
	_, err := s.UpdateStatus(id, status, reason)
	return err
}

// UpdateStatus is SetStatus that returns the subscription as it now is.
//
// Errors: ErrInvalid for an unknown status; ErrNotFound; ErrWrongKey.
func (s *Store) UpdateStatus(id string, status state.Status, reason string) (state.Subscription, error) {
	if err := status.Check(); err != nil {
		return state.Subscription{}, fmt.Errorf("state: set status: %w", err)
	}
	var rec *state.SubscriptionRecord
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		if rec, err = getSubscription(tx, id); err != nil {
			return err
		}
		rec.Status, rec.StatusReason = status, reason
		return putSubscription(tx.Bucket(bucketSubscriptions), rec)
	})
	if err != nil {
		return state.Subscription{}, wrapTx("set status", err)
	}
	sub, err := s.sealer.OpenSubscription(rec)
	return sub, wrapTx("set status", err)
}

// DeleteSubscription deletes a subscription with its cursor, outbox and
// delivery log, in one transaction. Deleting twice is harmless: the second
// call returns ErrNotFound, which a handler may answer as it likes.
//
// Errors: ErrNotFound.
func (s *Store) DeleteSubscription(id string) error {
	err := s.update(func(tx *bbolt.Tx) error {
		rec, err := getSubscription(tx, id)
		if err != nil {
			return err
		}
		key := []byte(id)
		if err := tx.Bucket(bucketSubscriptions).Delete(key); err != nil {
			return err
		}
		connections := tx.Bucket(bucketConnections)
		if conn := connections.Bucket([]byte(rec.ConnectionID)); conn != nil {
			if err := conn.Delete(key); err != nil {
				return err
			}
			if k, _ := conn.Cursor().First(); k == nil {
				if err := connections.DeleteBucket([]byte(rec.ConnectionID)); err != nil {
					return err
				}
			}
		}
		if err := unscheduleAll(tx, id); err != nil {
			return err
		}
		s.pending.track(tx).drop(id)
		return openSubLog(tx, id).deleteAll(tx)
	})
	if err == nil {
		s.subscriptionMemo.forget(id)
	}
	return wrapTx("delete subscription", err)
}

func getSubscription(tx *bbolt.Tx, id string) (*state.SubscriptionRecord, error) {
	v := tx.Bucket(bucketSubscriptions).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: subscription %q", state.ErrNotFound, id)
	}
	return decodeSubscription([]byte(id), v)
}

// decodeSubscription copies everything out of v (json.Unmarshal does).
func decodeSubscription(k, v []byte) (*state.SubscriptionRecord, error) {
	var rec state.SubscriptionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode subscription %q: %w", k, err)
	}
	return &rec, nil
}

func putSubscription(subs *bbolt.Bucket, rec *state.SubscriptionRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode subscription %q: %w", rec.ID, err)
	}
	return subs.Put([]byte(rec.ID), v)
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// wrapTx prefixes the errors of a transaction with the operation, keeping
// sentinels reachable through errors.Is.
func wrapTx(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("state: %s: %w", op, err)
}
