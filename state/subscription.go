package state

import (
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Status is where a subscription stands: whether the poller reads its feed and whether the
// deliverer sends its outbox.
type Status string

// Subscription statuses. Active and paused subscriptions are polled
// (CommitFeed queues their events); only active ones are delivered to
// (DueDeliveries); the outbox of the others waits.
const (
	StatusActive Status = "active"
	// StatusPaused: a user or operator paused deliveries (POST …/pause); the
	// poller keeps reading and queuing, resume delivers what was held.
	StatusPaused Status = "paused"
	// StatusSuspended: the connector stopped polling because HipChat rejected
	// the token (401); resuming says the token works again.
	StatusSuspended Status = "suspended"
	// StatusDisabled: the callback answered 410, or its endpoint failed
	// without a success for days; final.
	StatusDisabled Status = "disabled"
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

// MaxIDLength bounds subscription, connection and endpoint ids (keys in every backend).
const MaxIDLength = 256

// Subscription is a callback subscription: what to watch with which token,
// where to POST, and how far it has got. Token and Secret are in clear in
// this value: never log it or send it to a client whole.
type Subscription struct {
	ID           string
	ConnectionID string        // hash of the token, computed by the caller
	Kind         triggers.Kind // what it watches: triggers.KindMessage, KindFile or KindRoom
	RoomID       string        // the room as given when subscribing (id or name); "" for triggers.KindRoom
	// Room is HipChat's id and name of RoomID, resolved when subscribing; the zero value for
	// triggers.KindRoom, and for a subscription stored before rooms were resolved until the poller
	// resolves it on its first read (CursorAdvance.Room).
	Room         triggers.ResolvedRoom
	CallbackURL  string
	Token        string // HipChat token used to poll; sealed at rest
	Secret       string // "whsec_..." signing secret; sealed at rest
	HipChatURL   string // HipChat base URL the token belongs to
	Cursor       []byte // opaque to the store; advanced by CommitFeed
	Status       Status // StatusActive, StatusPaused, StatusSuspended or StatusDisabled
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
	// Filter keeps only the messages it matches (kinds message and file), its
	// users looked up (triggers.ResolveFilter); the zero filter keeps all.
	Filter triggers.FilterSpec
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

// ValidateSubscription checks a subscription as a store's CreateSubscription does, after the
// defaults are filled in (id, status, created at). Errors: ErrInvalid naming the field.
func ValidateSubscription(sub Subscription) error {
	switch {
	case !ValidID(sub.ID):
		return fmt.Errorf("%w: subscription id must be 1 to %d bytes", ErrInvalid, MaxIDLength)
	case !ValidID(sub.ConnectionID):
		return fmt.Errorf("%w: connection id must be 1 to %d bytes", ErrInvalid, MaxIDLength)
	case !sub.Kind.Valid():
		return fmt.Errorf("%w: %w", ErrInvalid, sub.Kind.Check())
	case sub.Kind == triggers.KindRoom && sub.RoomID != "":
		return fmt.Errorf("%w: room id must be empty for kind %s", ErrInvalid, triggers.KindRoom)
	case sub.Kind != triggers.KindRoom && sub.RoomID == "":
		return fmt.Errorf("%w: room id is required for kind %s", ErrInvalid, sub.Kind)
	case sub.Kind == triggers.KindRoom && sub.Room != (triggers.ResolvedRoom{}):
		return fmt.Errorf("%w: a resolved room must be empty for kind %s", ErrInvalid, triggers.KindRoom)
	case sub.Room.ID < 0:
		return fmt.Errorf("%w: resolved room id %d must not be negative", ErrInvalid, sub.Room.ID)
	case sub.CallbackURL == "":
		return fmt.Errorf("%w: callback URL is empty", ErrInvalid)
	case sub.Token == "":
		return fmt.Errorf("%w: token is empty", ErrInvalid)
	case sub.Secret == "":
		return fmt.Errorf("%w: secret is empty", ErrInvalid)
	case !sub.Status.Valid():
		return fmt.Errorf("%w: status %q", ErrInvalid, sub.Status)
	case !sub.Ordering.Valid():
		return fmt.Errorf("%w: ordering %q (want %s or %s)", ErrInvalid, sub.Ordering, OrderingBestEffort, OrderingFIFO)
	case sub.MaxPerSecond < 0:
		return fmt.Errorf("%w: max per second %v must not be negative", ErrInvalid, sub.MaxPerSecond)
	}
	return validateFilter(sub)
}

// validateFilter checks a subscription's filter: only message and file subscriptions have one, and
// it must compile, its users looked up, so that the poller can match with it.
func validateFilter(sub Subscription) error {
	if sub.Filter.IsZero() {
		return nil
	}
	if !sub.Kind.Room() {
		return fmt.Errorf("%w: a %s subscription takes no filter", ErrInvalid, sub.Kind)
	}
	if _, err := sub.Filter.Compile(); err != nil {
		return fmt.Errorf("%w: filter: %w", ErrInvalid, err)
	}
	return nil
}

// ValidID reports whether id is a usable subscription, connection or endpoint id: 1 to
// MaxIDLength bytes.
func ValidID(id string) bool { return id != "" && len(id) <= MaxIDLength }

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	return s == StatusActive || s == StatusPaused || s == StatusSuspended || s == StatusDisabled
}

// Check is nil for one of the four statuses. Errors: ErrInvalid naming them.
func (s Status) Check() error {
	if s.Valid() {
		return nil
	}
	return fmt.Errorf("%w: status %q (want %s, %s, %s or %s)", ErrInvalid, s,
		StatusActive, StatusPaused, StatusSuspended, StatusDisabled)
}

// Polled reports whether the poller reads the feed of a subscription with status s: active or
// paused (a paused subscription's events wait in its outbox for resume).
func (s Status) Polled() bool { return s == StatusActive || s == StatusPaused }
