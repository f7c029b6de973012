package bolt

import (
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Endpoint returns the stored state of the endpoint key; ok is false when
// none is stored (it never failed). Errors: only storage failures.
func (s *Store) Endpoint(key string) (state.Endpoint, bool, error) {
	var ep state.Endpoint
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketEndpoints).Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &ep)
	})
	if err != nil {
		return state.Endpoint{}, false, wrapTx("endpoint", err)
	}
	return ep, found, nil
}

func putEndpoint(tx *bbolt.Tx, ep state.Endpoint) error {
	if !state.ValidID(ep.Key) {
		return fmt.Errorf("%w: endpoint key must be 1 to %d bytes", state.ErrInvalid, state.MaxIDLength)
	}
	v, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketEndpoints).Put([]byte(ep.Key), v)
}

// DisableEndpoint disables, with reason, every active or paused subscription
// whose callback URL is on endpoint key (it failed for too long), and
// returns how many. Errors: only storage failures.
func (s *Store) DisableEndpoint(key, reason string) (int, error) {
	n := 0
	err := s.update(func(tx *bbolt.Tx) error {
		n = 0
		subs := tx.Bucket(bucketSubscriptions)
		var changed []*state.SubscriptionRecord
		err := subs.ForEach(func(k, v []byte) error {
			rec, err := decodeSubscription(k, v)
			if err != nil {
				return err
			}
			if (rec.Status == state.StatusActive || rec.Status == state.StatusPaused) && webhook.EndpointOf(rec.CallbackURL) == key {
				rec.Status, rec.StatusReason = state.StatusDisabled, reason
				changed = append(changed, rec)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, rec := range changed {
			if err := putSubscription(subs, rec); err != nil {
				return err
			}
		}
		n = len(changed)
		return nil
	})
	return n, wrapTx("disable endpoint", err)
}
