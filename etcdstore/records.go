package etcdstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// deliveryRecord is the stored form of a delivery; its key holds the
// subscription and Seq.
type deliveryRecord struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	// Body is a JSON payload as it is; Payload, base64, one that is not JSON.
	Body          json.RawMessage `json:"body,omitempty"`
	Payload       []byte          `json:"payload,omitempty"`
	CatchUpNote   string          `json:"catch_up_note,omitempty"`
	Status        string          `json:"status"`
	Attempts      []state.Attempt `json:"attempts,omitempty"`
	RoundAttempts int             `json:"round_attempts,omitempty"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	CreatedAt     time.Time       `json:"created_at"`
	DeliveredAt   time.Time       `json:"delivered_at"`
	// QueuedAt is when it last entered the queue (CommitFeed, Resend, Recover).
	QueuedAt time.Time `json:"queued_at"`
}

func (rec *deliveryRecord) delivery(subID string, seq uint64) state.Delivery {
	payload := []byte(rec.Body)
	if rec.Body == nil {
		payload = rec.Payload
	}
	return state.Delivery{
		ID: rec.ID, SubscriptionID: subID, Seq: seq, EventID: rec.EventID, Type: rec.Type,
		Payload: payload, CatchUpNote: rec.CatchUpNote, Status: rec.Status,
		Attempts: rec.Attempts, RoundAttempts: rec.RoundAttempts, NextAttemptAt: rec.NextAttemptAt,
		CreatedAt: rec.CreatedAt, DeliveredAt: rec.DeliveredAt,
	}
}

// finishedAt is when a finished delivery got its final answer.
func (rec *deliveryRecord) finishedAt() time.Time {
	if !rec.DeliveredAt.IsZero() {
		return rec.DeliveredAt
	}
	if n := len(rec.Attempts); n > 0 {
		return rec.Attempts[n-1].At
	}
	return rec.QueuedAt
}

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

func decodeDelivery(key string, v []byte) (*deliveryRecord, error) {
	var rec deliveryRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode delivery %s: %w", key, err)
	}
	return &rec, nil
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

// getDelivery reads delivery seq of subID in t. Errors: state.ErrNotFound.
func (t *tx) getDelivery(subID string, seq uint64) (*deliveryRecord, error) {
	key := t.s.logKey(subID, seq)
	v, ok, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: delivery %s/%d", state.ErrNotFound, subID, seq)
	}
	return decodeDelivery(key, v)
}

func (t *tx) putDelivery(subID string, seq uint64, rec *deliveryRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode delivery %s/%d: %w", subID, seq, err)
	}
	t.put(t.s.logKey(subID, seq), v)
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
