package etcd

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// outboxRecord is a subscription's outbox key: the last seq given out.
type outboxRecord struct {
	NextSeq uint64 `json:"next_seq"`
}

func decodeSubscription(key string, v []byte) (*state.SubscriptionRecord, error) {
	var rec state.SubscriptionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode subscription %s: %w", key, err)
	}
	return &rec, nil
}

// decodeDelivery decodes the delivery record stored under key (log/<sub>/<seq>): in the compact
// form the bbolt store writes too (state.EncodeDeliveryRecord: its text compressed, its times a
// few bytes), as schema version 2 writes every record, or as the JSON of version 1, which a
// version-2 prefix may still hold and reads as it is (the next write of the record rewrites it).
func decodeDelivery(key string, v []byte) (*state.DeliveryRecord, error) {
	if len(v) > 0 && v[0] == '{' {
		var rec state.DeliveryRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, fmt.Errorf("decode delivery %s: %w", key, err)
		}
		return &rec, nil
	}
	subID, err := subOfLogKey(key)
	if err != nil {
		return nil, err
	}
	rec, err := state.DecodeDeliveryRecord(subID, v)
	if err != nil {
		return nil, fmt.Errorf("decode delivery %s: %w", key, err)
	}
	return rec, nil
}

// subOfLogKey is the subscription id of a log key (…log/<escaped id>/<seq>).
func subOfLogKey(key string) (string, error) {
	last := strings.LastIndexByte(key, '/')
	if last < 0 {
		return "", fmt.Errorf("malformed log key %q", key)
	}
	prev := strings.LastIndexByte(key[:last], '/')
	id, err := unesc(key[prev+1 : last])
	if err != nil || id == "" {
		return "", fmt.Errorf("malformed log key %q", key)
	}
	return id, nil
}

// getSubscription reads a subscription in t. Errors: state.ErrNotFound.
func (t *tx) getSubscription(id string) (*state.SubscriptionRecord, error) {
	key := t.s.subscriptionKey(id)
	v, ok, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: subscription %q", state.ErrNotFound, id)
	}
	return decodeSubscription(key, v)
}

func (t *tx) putSubscription(rec *state.SubscriptionRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode subscription %q: %w", rec.ID, err)
	}
	t.put(t.s.subscriptionKey(rec.ID), v)
	return nil
}

// getDelivery reads delivery seq of subID in t, and notes, the first time, whether it is pending and
// when it is due (queue.go). Errors: state.ErrNotFound.
func (t *tx) getDelivery(subID string, seq uint64) (*state.DeliveryRecord, error) {
	key := t.s.logKey(subID, seq)
	v, ok, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: delivery %s/%d", state.ErrNotFound, subID, seq)
	}
	rec, err := decodeDelivery(key, v)
	if err != nil {
		return nil, err
	}
	if _, noted := t.queue[key]; !noted {
		t.queue[key] = queued{at: rec.NextAttemptAt, pending: rec.Status == state.DeliveryPending}
	}
	return rec, nil
}

// putDelivery writes delivery seq of subID in its compact form (decodeDelivery).
func (t *tx) putDelivery(subID string, seq uint64, rec *state.DeliveryRecord) error {
	t.put(t.s.logKey(subID, seq), state.EncodeDeliveryRecord(subID, rec))
	return nil
}

// touchOutbox reads the subscription's outbox key and rewrites it at commit,
// so two transactions that change the same log or queue conflict; it returns
// the record to hand out seqs from.
func (t *tx) touchOutbox(subID string) (*outboxRecord, error) {
	key := t.s.outboxKey(subID)
	v, ok, err := t.get(key)
	if err != nil {
		return nil, err
	}
	var box outboxRecord
	if ok {
		if err := json.Unmarshal(v, &box); err != nil {
			return nil, fmt.Errorf("decode outbox %s: %w", key, err)
		}
	}
	t.putOutbox(subID, &box)
	return &box, nil
}

func (t *tx) putOutbox(subID string, box *outboxRecord) {
	v, _ := json.Marshal(box) // cannot fail: one number
	t.put(t.s.outboxKey(subID), v)
}

// nextSeq hands out the next seq of subID's log (touchOutbox first).
func (t *tx) nextSeq(subID string, box *outboxRecord) uint64 {
	box.NextSeq++
	t.putOutbox(subID, box)
	return box.NextSeq
}
