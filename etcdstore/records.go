package etcdstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// subscriptionRecord is the stored form of a subscription: secrets sealed,
// never in clear (the same fields as the bbolt file's).
type subscriptionRecord struct {
	ID                      string         `json:"id"`
	ConnectionID            string         `json:"connection_id"`
	Kind                    triggers.Kind  `json:"kind"`
	RoomID                  string         `json:"room_id,omitempty"`
	CallbackURL             string         `json:"callback_url"`
	SealedToken             []byte         `json:"sealed_token"`
	SealedSecret            []byte         `json:"sealed_secret"`
	HipChatURL              string         `json:"hipchat_url"`
	Cursor                  []byte         `json:"cursor,omitempty"`
	Status                  string         `json:"status"`
	StatusReason            string         `json:"status_reason,omitempty"`
	CreatedAt               time.Time      `json:"created_at"`
	Health                  state.Health   `json:"health"`
	Ordering                state.Ordering `json:"ordering,omitempty"`
	MaxPerSecond            float64        `json:"max_per_second,omitempty"`
	SealedPreviousSecret    []byte         `json:"sealed_previous_secret,omitempty"`
	PreviousSecretExpiresAt time.Time      `json:"previous_secret_expires_at,omitzero"`
}

// polled reports whether the poller reads the subscription's feed.
func (rec *subscriptionRecord) polled() bool {
	return rec.Status == state.StatusActive || rec.Status == state.StatusPaused
}

func (rec *subscriptionRecord) fifo() bool { return rec.Ordering.OrDefault() == state.OrderingFIFO }

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

func decodeSubscription(key string, v []byte) (*subscriptionRecord, error) {
	var rec subscriptionRecord
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
func (t *tx) getSubscription(id string) (*subscriptionRecord, error) {
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

func (t *tx) putSubscription(rec *subscriptionRecord) error {
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

func (s *Store) sealSubscription(sub state.Subscription) (*subscriptionRecord, error) {
	sealedToken, err := s.sealer.Seal([]byte(sub.Token), state.SealingToken(sub.ID))
	if err != nil {
		return nil, err
	}
	sealedSecret, err := s.sealer.Seal([]byte(sub.Secret), state.SealingSecret(sub.ID))
	if err != nil {
		return nil, err
	}
	return &subscriptionRecord{
		ID: sub.ID, ConnectionID: sub.ConnectionID, Kind: sub.Kind, RoomID: sub.RoomID,
		CallbackURL: sub.CallbackURL, SealedToken: sealedToken, SealedSecret: sealedSecret,
		HipChatURL: sub.HipChatURL, Cursor: sub.Cursor, Status: sub.Status,
		StatusReason: sub.StatusReason, CreatedAt: sub.CreatedAt, Health: sub.Health,
		Ordering: sub.Ordering.OrDefault(), MaxPerSecond: sub.MaxPerSecond,
	}, nil
}

func (s *Store) unsealSubscription(rec *subscriptionRecord) (state.Subscription, error) {
	token, err := s.sealer.Open(rec.SealedToken, state.SealingToken(rec.ID))
	if err != nil {
		return state.Subscription{}, fmt.Errorf("subscription %q token: %w", rec.ID, err)
	}
	secret, err := s.sealer.Open(rec.SealedSecret, state.SealingSecret(rec.ID))
	if err != nil {
		return state.Subscription{}, fmt.Errorf("subscription %q secret: %w", rec.ID, err)
	}
	sub := state.Subscription{
		ID: rec.ID, ConnectionID: rec.ConnectionID, Kind: rec.Kind, RoomID: rec.RoomID,
		CallbackURL: rec.CallbackURL, Token: string(token), Secret: string(secret),
		HipChatURL: rec.HipChatURL, Cursor: rec.Cursor, Status: rec.Status,
		StatusReason: rec.StatusReason, CreatedAt: rec.CreatedAt, Health: rec.Health,
		Ordering: rec.Ordering.OrDefault(), MaxPerSecond: rec.MaxPerSecond,
		PreviousSecretExpiresAt: rec.PreviousSecretExpiresAt,
	}
	if rec.SealedPreviousSecret != nil {
		previous, err := s.sealer.Open(rec.SealedPreviousSecret, state.SealingPreviousSecret(rec.ID))
		if err != nil {
			return state.Subscription{}, fmt.Errorf("subscription %q previous secret: %w", rec.ID, err)
		}
		sub.PreviousSecret = string(previous)
	}
	return sub, nil
}

func (s *Store) unsealSubscriptions(recs []*subscriptionRecord) ([]state.Subscription, error) {
	subs := make([]state.Subscription, 0, len(recs))
	for _, rec := range recs {
		sub, err := s.unsealSubscription(rec)
		if err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}
