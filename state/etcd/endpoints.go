package etcd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Endpoint returns the stored circuit state of the endpoint key; ok is false
// when none is stored. Errors: etcd errors.
func (s *Store) Endpoint(key string) (state.Endpoint, bool, error) {
	ctx, cancel := s.op()
	defer cancel()
	resp, err := s.client.Get(ctx, s.endpointKey(key))
	if err != nil {
		return state.Endpoint{}, false, wrap("endpoint", err)
	}
	if len(resp.Kvs) == 0 {
		return state.Endpoint{}, false, nil
	}
	var ep state.Endpoint
	if err := json.Unmarshal(resp.Kvs[0].Value, &ep); err != nil {
		return state.Endpoint{}, false, wrap("endpoint", err)
	}
	return ep, true, nil
}

func (t *tx) putEndpoint(ep state.Endpoint) error {
	if !state.ValidID(ep.Key) {
		return fmt.Errorf("%w: endpoint key must be 1 to 256 bytes", state.ErrInvalid)
	}
	v, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	t.put(t.s.endpointKey(ep.Key), v)
	return nil
}

// DisableEndpoint disables, with reason, every active or paused subscription
// whose callback URL is on endpoint key, and returns how many. Each is
// rewritten only if unchanged since it was read, a hundred per transaction.
// Errors: etcd errors (those already disabled stay so).
func (s *Store) DisableEndpoint(key, reason string) (int, error) {
	recs, err := s.readSubscriptions("disable endpoint")
	if err != nil {
		return 0, err
	}
	var ids []string
	for _, rec := range recs {
		if rec.Polled() && webhook.EndpointOf(rec.CallbackURL) == key {
			ids = append(ids, rec.ID)
		}
	}
	total := 0
	for start := 0; start < len(ids); start += cursorsPerTxn {
		chunk := ids[start:min(start+cursorsPerTxn, len(ids))]
		n := 0
		err := s.update(func(t *tx) error {
			n = 0
			for _, id := range chunk {
				rec, err := t.getSubscription(id)
				if errors.Is(err, state.ErrNotFound) {
					continue // deleted since
				}
				if err != nil {
					return err
				}
				if !rec.Polled() || webhook.EndpointOf(rec.CallbackURL) != key {
					continue
				}
				rec.Status, rec.StatusReason = state.StatusDisabled, reason
				if err := t.putSubscription(rec); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, wrap("disable endpoint", err)
		}
		total += n
	}
	return total, nil
}
