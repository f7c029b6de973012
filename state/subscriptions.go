package state

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Subscription statuses. Active and paused subscriptions are polled
// (CommitFeed queues their events); only active ones are delivered to
// (DueDeliveries); the outbox of the others waits.
const (
	StatusActive = "active"
	// StatusPaused: a user or operator paused deliveries (POST …/pause); the
	// poller keeps reading and queuing, resume delivers what was held.
	StatusPaused = "paused"
	// StatusSuspended: the connector stopped polling because HipChat rejected
	// the token (401); resuming says the token works again.
	StatusSuspended = "suspended"
	// StatusDisabled: the callback answered 410, or its endpoint failed
	// without a success for days; final.
	StatusDisabled = "disabled"
)

// Ordering is how a subscription's deliveries go out.
type Ordering string

const (
	// OrderingBestEffort (the default): each delivery is retried on its own
	// schedule; a failing one never delays the others.
	OrderingBestEffort Ordering = "best_effort"
	// OrderingFIFO: one delivery at a time, in order; a failing one holds up
	// the rest until it is delivered or dead-lettered.
	OrderingFIFO Ordering = "fifo"
)

// Valid reports whether o is an ordering (the empty one is OrderingBestEffort).
func (o Ordering) Valid() bool { return o == "" || o == OrderingBestEffort || o == OrderingFIFO }

// OrDefault is o, or OrderingBestEffort when o is empty.
func (o Ordering) OrDefault() Ordering {
	if o == "" {
		return OrderingBestEffort
	}
	return o
}

// maxIDLength bounds subscription and connection ids (bbolt keys).
const maxIDLength = 256

// Subscription is a callback subscription: what to watch with which token,
// where to POST, and how far it has got. Token and Secret are in clear in
// this value: never log it or send it to a client whole.
type Subscription struct {
	ID           string
	ConnectionID string        // hash of the token, computed by the caller
	Kind         triggers.Kind // what it watches: triggers.KindMessage, KindFile or KindRoom
	RoomID       string        // "" for triggers.KindRoom
	CallbackURL  string
	Token        string // HipChat token used to poll; sealed at rest
	Secret       string // "whsec_..." signing secret; sealed at rest
	HipChatURL   string // HipChat base URL the token belongs to
	Cursor       []byte // opaque to the store; advanced by CommitFeed
	Status       string // StatusActive, StatusPaused, StatusSuspended or StatusDisabled
	StatusReason string
	CreatedAt    time.Time
	Health       Health // maintained by RecordAttempt
	// Ordering of deliveries; empty means OrderingBestEffort.
	Ordering Ordering
	// MaxPerSecond bounds the subscription's deliveries per second; 0 means
	// no bound of its own.
	MaxPerSecond float64
	// PreviousSecret, until PreviousSecretExpiresAt, signs deliveries beside
	// Secret (after RotateSecret); sealed at rest.
	PreviousSecret          string
	PreviousSecretExpiresAt time.Time
}

// SigningSecrets returns the secrets that sign a delivery made at t: Secret,
// and PreviousSecret while its overlap lasts.
func (s Subscription) SigningSecrets(t time.Time) []string {
	if s.PreviousSecret != "" && t.Before(s.PreviousSecretExpiresAt) {
		return []string{s.Secret, s.PreviousSecret}
	}
	return []string{s.Secret}
}

// Health summarizes a subscription's deliveries for operators.
type Health struct {
	LastDeliveredAt     time.Time `json:"last_delivered_at"`    // last 2xx
	LastFailureAt       time.Time `json:"last_failure_at"`      // last failed attempt
	LastFailure         string    `json:"last_failure"`         // e.g. "HTTP 503" or a transport error
	ConsecutiveFailures int       `json:"consecutive_failures"` // failed attempts since the last success
	DeadLettered        int       `json:"dead_lettered"`        // deliveries dead-lettered, ever
}

// CreateSubscription stores sub and returns it as stored. An empty ID gets a
// random one, an empty Status becomes StatusActive, a zero CreatedAt becomes
// now. The cursor may be nil (the poller baselines it on its first read).
//
// Errors: ErrInvalid when an id is malformed, Kind or Status is unknown,
// RoomID is missing for a room-scoped kind (or given for triggers.KindRoom), or
// CallbackURL, Token or Secret is empty; ErrExists when the ID is taken.
func (s *Store) CreateSubscription(sub Subscription) (Subscription, error) {
	if sub.ID == "" {
		sub.ID = uuid.NewString()
	}
	if sub.Status == "" {
		sub.Status = StatusActive
	}
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = s.now()
	}
	sub.CreatedAt = sub.CreatedAt.UTC()
	sub.Cursor = cloneBytes(sub.Cursor)
	if err := validateSubscription(sub); err != nil {
		return Subscription{}, fmt.Errorf("state: create subscription: %w", err)
	}
	rec, err := s.sealer.sealSubscription(sub)
	if err != nil {
		return Subscription{}, err
	}
	sub.Ordering = rec.Ordering
	err = s.update(func(tx *bolt.Tx) error {
		subs := tx.Bucket(bucketSubscriptions)
		if subs.Get([]byte(sub.ID)) != nil {
			return fmt.Errorf("%w: subscription %q", ErrExists, sub.ID)
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
		return Subscription{}, wrapTx("create subscription", err)
	}
	return sub, nil
}

// Subscription returns the subscription with the given id, secrets in clear.
// It does not check who asks: handlers compare ConnectionID with the caller's.
//
// Errors: ErrNotFound; ErrWrongKey when its secrets cannot be unsealed.
func (s *Store) Subscription(id string) (Subscription, error) {
	var rec *SubscriptionRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getSubscription(tx, id)
		return err
	})
	if err != nil {
		return Subscription{}, wrapTx("get subscription", err)
	}
	sub, err := s.sealer.openSubscription(rec)
	return sub, wrapTx("get subscription", err)
}

// SubscriptionsOf returns the subscriptions of one connection, ordered by id.
// None is not an error.
//
// Errors: ErrWrongKey when secrets cannot be unsealed.
func (s *Store) SubscriptionsOf(connectionID string) ([]Subscription, error) {
	var recs []*SubscriptionRecord
	err := s.db.View(func(tx *bolt.Tx) error {
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
	subs, err := s.sealer.openSubscriptions(recs)
	return subs, wrapTx("list subscriptions", err)
}

// PolledSubscriptions returns every subscription the poller reads (active
// or paused), ordered by id, tokens in clear: the poller's work list.
//
// Errors: ErrWrongKey when secrets cannot be unsealed.
func (s *Store) PolledSubscriptions() ([]Subscription, error) {
	var recs []*SubscriptionRecord
	err := s.db.View(func(tx *bolt.Tx) error {
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
	subs, err := s.sealer.openSubscriptions(recs)
	return subs, wrapTx("list polled subscriptions", err)
}

// SetStatus sets a subscription's status and the reason shown to operators
// (e.g. "HipChat answered 401"). Setting StatusActive resumes polling and
// delivery where they stopped.
//
// Errors: ErrInvalid for an unknown status; ErrNotFound.
func (s *Store) SetStatus(id, status, reason string) error {
	_, err := s.UpdateStatus(id, status, reason)
	return err
}

// UpdateStatus is SetStatus that returns the subscription as it now is.
//
// Errors: ErrInvalid for an unknown status; ErrNotFound; ErrWrongKey.
func (s *Store) UpdateStatus(id, status, reason string) (Subscription, error) {
	if !validStatus(status) {
		return Subscription{}, fmt.Errorf("state: set status: %w: status %q (want %s, %s, %s or %s)", ErrInvalid, status,
			StatusActive, StatusPaused, StatusSuspended, StatusDisabled)
	}
	var rec *SubscriptionRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getSubscription(tx, id); err != nil {
			return err
		}
		rec.Status, rec.StatusReason = status, reason
		return putSubscription(tx.Bucket(bucketSubscriptions), rec)
	})
	if err != nil {
		return Subscription{}, wrapTx("set status", err)
	}
	sub, err := s.sealer.openSubscription(rec)
	return sub, wrapTx("set status", err)
}

// DeleteSubscription deletes a subscription with its cursor, outbox and
// delivery log, in one transaction. Deleting twice is harmless: the second
// call returns ErrNotFound, which a handler may answer as it likes.
//
// Errors: ErrNotFound.
func (s *Store) DeleteSubscription(id string) error {
	err := s.update(func(tx *bolt.Tx) error {
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
		return openSubLog(tx, id).deleteAll(tx)
	})
	if err == nil {
		s.subscriptionMemo.forget(id)
	}
	return wrapTx("delete subscription", err)
}

func validateSubscription(sub Subscription) error {
	switch {
	case !validID(sub.ID):
		return fmt.Errorf("%w: subscription id must be 1 to %d bytes", ErrInvalid, maxIDLength)
	case !validID(sub.ConnectionID):
		return fmt.Errorf("%w: connection id must be 1 to %d bytes", ErrInvalid, maxIDLength)
	case !sub.Kind.Valid():
		return fmt.Errorf("%w: %w", ErrInvalid, sub.Kind.Check())
	case sub.Kind == triggers.KindRoom && sub.RoomID != "":
		return fmt.Errorf("%w: room id must be empty for kind %s", ErrInvalid, triggers.KindRoom)
	case sub.Kind != triggers.KindRoom && sub.RoomID == "":
		return fmt.Errorf("%w: room id is required for kind %s", ErrInvalid, sub.Kind)
	case sub.CallbackURL == "":
		return fmt.Errorf("%w: callback URL is empty", ErrInvalid)
	case sub.Token == "":
		return fmt.Errorf("%w: token is empty", ErrInvalid)
	case sub.Secret == "":
		return fmt.Errorf("%w: secret is empty", ErrInvalid)
	case !validStatus(sub.Status):
		return fmt.Errorf("%w: status %q", ErrInvalid, sub.Status)
	case !sub.Ordering.Valid():
		return fmt.Errorf("%w: ordering %q (want %s or %s)", ErrInvalid, sub.Ordering, OrderingBestEffort, OrderingFIFO)
	case sub.MaxPerSecond < 0:
		return fmt.Errorf("%w: max per second %v must not be negative", ErrInvalid, sub.MaxPerSecond)
	}
	return nil
}

func validID(id string) bool { return id != "" && len(id) <= maxIDLength }

func validStatus(status string) bool {
	return status == StatusActive || status == StatusPaused || status == StatusSuspended || status == StatusDisabled
}

func getSubscription(tx *bolt.Tx, id string) (*SubscriptionRecord, error) {
	v := tx.Bucket(bucketSubscriptions).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: subscription %q", ErrNotFound, id)
	}
	return decodeSubscription([]byte(id), v)
}

// decodeSubscription copies everything out of v (json.Unmarshal does).
func decodeSubscription(k, v []byte) (*SubscriptionRecord, error) {
	var rec SubscriptionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode subscription %q: %w", k, err)
	}
	return &rec, nil
}

func putSubscription(subs *bolt.Bucket, rec *SubscriptionRecord) error {
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
