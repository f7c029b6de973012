package state

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// SubscriptionRecord is the stored form of a subscription, the same in every backend (bbolt, etcd):
// its HipChat token and signing secrets sealed, never in clear. Sealer.SealSubscription makes one
// from a Subscription and Sealer.OpenSubscription turns it back.
type SubscriptionRecord struct {
	ID           string        `json:"id"`
	ConnectionID string        `json:"connection_id"`
	Kind         triggers.Kind `json:"kind"`
	RoomID       string        `json:"room_id,omitempty"`
	CallbackURL  string        `json:"callback_url"`
	SealedToken  []byte        `json:"sealed_token"`
	SealedSecret []byte        `json:"sealed_secret"`
	HipChatURL   string        `json:"hipchat_url"`
	Cursor       []byte        `json:"cursor,omitempty"`
	Status       Status        `json:"status"`
	StatusReason string        `json:"status_reason,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	Health       Health        `json:"health"`
	// Since schema version 3.
	Ordering                Ordering  `json:"ordering,omitempty"`
	MaxPerSecond            float64   `json:"max_per_second,omitempty"`
	SealedPreviousSecret    []byte    `json:"sealed_previous_secret,omitempty"`
	PreviousSecretExpiresAt time.Time `json:"previous_secret_expires_at,omitzero"`
	// Filter of a message or file subscription; absent when it keeps every message.
	Filter *triggers.FilterSpec `json:"filter,omitempty"`
	// Room is HipChat's id and name of RoomID; absent for room subscriptions, and in records stored
	// before rooms were resolved, until the first commit of their feed after the upgrade
	// (ApplyAdvance).
	Room *triggers.ResolvedRoom `json:"room,omitempty"`
}

// Polled reports whether the poller reads the subscription's feed.
func (rec *SubscriptionRecord) Polled() bool { return rec.Status.Polled() }

// FIFO reports whether the subscription's deliveries go one at a time, in order.
func (rec *SubscriptionRecord) FIFO() bool { return rec.Ordering.OrDefault() == OrderingFIFO }

// SealSubscription is the stored form of sub (its previous secret is sealed by RotateSecret).
// Errors: only a failure of the random source.
func (s *Sealer) SealSubscription(sub Subscription) (*SubscriptionRecord, error) {
	sealedToken, err := s.Seal([]byte(sub.Token), aadToken(sub.ID))
	if err != nil {
		return nil, err
	}
	sealedSecret, err := s.Seal([]byte(sub.Secret), aadSecret(sub.ID))
	if err != nil {
		return nil, err
	}
	return &SubscriptionRecord{
		ID: sub.ID, ConnectionID: sub.ConnectionID, Kind: sub.Kind, RoomID: sub.RoomID,
		CallbackURL: sub.CallbackURL, SealedToken: sealedToken, SealedSecret: sealedSecret,
		HipChatURL: sub.HipChatURL, Cursor: sub.Cursor, Status: sub.Status,
		StatusReason: sub.StatusReason, CreatedAt: sub.CreatedAt, Health: sub.Health,
		Ordering: sub.Ordering.OrDefault(), MaxPerSecond: sub.MaxPerSecond, Filter: storedFilter(sub.Filter),
		Room: storedRoom(sub.Room),
	}, nil
}

// storedRoom is the record's form of a resolved room: nil when it is not resolved.
func storedRoom(r triggers.ResolvedRoom) *triggers.ResolvedRoom {
	if !r.Resolved() {
		return nil
	}
	return &r
}

// ApplyAdvance applies what a feed's commit changes of the subscription itself: adv's cursor (when
// not nil) and its resolved room (when given and the record has none yet). It reports whether rec
// changed and must be written. Every backend's CommitFeed applies it.
func (rec *SubscriptionRecord) ApplyAdvance(adv CursorAdvance) bool {
	changed := false
	if adv.Cursor != nil {
		rec.Cursor = bytes.Clone(adv.Cursor)
		changed = true
	}
	if adv.Room.Resolved() && rec.Room == nil && rec.Kind.Room() {
		rec.Room = storedRoom(adv.Room)
		changed = true
	}
	return changed
}

// storedFilter is the record's form of a filter: nil when it keeps every message.
func storedFilter(f triggers.FilterSpec) *triggers.FilterSpec {
	if f.IsZero() {
		return nil
	}
	c := f.Clone()
	return &c
}

// SealSecret seals secret as subscription subID's signing secret, for RotateSecret; it is done
// before the transaction that rotates. Errors: only a failure of the random source.
func (s *Sealer) SealSecret(subID, secret string) ([]byte, error) {
	return s.Seal([]byte(secret), aadSecret(subID))
}

// RotateSecret makes sealed (from SealSecret) rec's signing secret; the one it replaces keeps
// signing beside it, as the previous secret, until previousExpiresAt (a zero time drops it at
// once). Errors: ErrWrongKey when the current secret does not open; a failure of the random source.
func (s *Sealer) RotateSecret(rec *SubscriptionRecord, sealed []byte, previousExpiresAt time.Time) error {
	current, err := s.Open(rec.SealedSecret, aadSecret(rec.ID))
	if err != nil {
		return err
	}
	if previousExpiresAt.IsZero() {
		rec.SealedPreviousSecret, rec.PreviousSecretExpiresAt = nil, time.Time{}
	} else {
		if rec.SealedPreviousSecret, err = s.Seal(current, aadPreviousSecret(rec.ID)); err != nil {
			return err
		}
		rec.PreviousSecretExpiresAt = previousExpiresAt.UTC()
	}
	rec.SealedSecret = sealed
	return nil
}

// OpenSubscription is the subscription rec stores, secrets in clear.
// Errors: ErrWrongKey (wrapped, naming the subscription and the secret) when a secret does not open.
func (s *Sealer) OpenSubscription(rec *SubscriptionRecord) (Subscription, error) {
	token, err := s.Open(rec.SealedToken, aadToken(rec.ID))
	if err != nil {
		return Subscription{}, fmt.Errorf("subscription %q token: %w", rec.ID, err)
	}
	secret, err := s.Open(rec.SealedSecret, aadSecret(rec.ID))
	if err != nil {
		return Subscription{}, fmt.Errorf("subscription %q secret: %w", rec.ID, err)
	}
	sub := rec.WithoutSecrets()
	sub.Token, sub.Secret = string(token), string(secret)
	if rec.SealedPreviousSecret != nil {
		previous, err := s.Open(rec.SealedPreviousSecret, aadPreviousSecret(rec.ID))
		if err != nil {
			return Subscription{}, fmt.Errorf("subscription %q previous secret: %w", rec.ID, err)
		}
		sub.PreviousSecret = string(previous)
	}
	return sub, nil
}

// OpenSubscriptions is OpenSubscription of each of recs, in order; the first error stops it.
func (s *Sealer) OpenSubscriptions(recs []*SubscriptionRecord) ([]Subscription, error) {
	subs := make([]Subscription, 0, len(recs))
	for _, rec := range recs {
		sub, err := s.OpenSubscription(rec)
		if err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

// WithoutSecrets is the record as a Subscription with nothing unsealed: it
// drops the sealed token, secret and previous secret, so Token, Secret and
// PreviousSecret are left empty. An empty Ordering becomes its default.
func (rec *SubscriptionRecord) WithoutSecrets() Subscription {
	return Subscription{
		ID: rec.ID, ConnectionID: rec.ConnectionID, Kind: rec.Kind, RoomID: rec.RoomID,
		CallbackURL: rec.CallbackURL, HipChatURL: rec.HipChatURL, Cursor: rec.Cursor, Status: rec.Status,
		StatusReason: rec.StatusReason, CreatedAt: rec.CreatedAt, Health: rec.Health,
		Ordering: rec.Ordering.OrDefault(), MaxPerSecond: rec.MaxPerSecond,
		PreviousSecretExpiresAt: rec.PreviousSecretExpiresAt, Filter: rec.filter(), Room: rec.room(),
	}
}

// room is the record's resolved room as a Subscription holds it (the zero value when none).
func (rec *SubscriptionRecord) room() triggers.ResolvedRoom {
	if rec.Room == nil {
		return triggers.ResolvedRoom{}
	}
	return *rec.Room
}

// filter is the record's filter as a Subscription holds it (the zero filter when none).
func (rec *SubscriptionRecord) filter() triggers.FilterSpec {
	if rec.Filter == nil {
		return triggers.FilterSpec{}
	}
	return rec.Filter.Clone()
}

// Clone is a copy of rec that shares no memory with it.
func (rec *SubscriptionRecord) Clone() *SubscriptionRecord {
	c := *rec
	c.SealedToken = bytes.Clone(rec.SealedToken)
	c.SealedSecret = bytes.Clone(rec.SealedSecret)
	c.SealedPreviousSecret = bytes.Clone(rec.SealedPreviousSecret)
	c.Cursor = bytes.Clone(rec.Cursor)
	c.Filter = storedFilter(rec.filter())
	c.Room = storedRoom(rec.room())
	return &c
}
