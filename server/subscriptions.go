package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// SubscriptionStore is what the subscriptions API needs of the state; *bolt.Store is one.
type SubscriptionStore interface {
	CreateSubscription(sub state.Subscription) (state.Subscription, error)
	Subscription(id string) (state.Subscription, error)
	SubscriptionsOf(connectionID string) ([]state.Subscription, error)
	DeleteSubscription(id string) error
	Deliveries(subID string, limit int) ([]state.Delivery, error)
	Delivery(subID, deliveryID string) (state.Delivery, error)
	Resend(subID, deliveryID string) (state.Delivery, error)
	CommitFeed(advances []state.CursorAdvance) error
	UpdateStatus(id string, status state.Status, reason string) (state.Subscription, error)
	Recover(subID string, since time.Time) (int, error)
	RotateSecret(subID, secret string, previousExpiresAt time.Time) (state.Subscription, error)
	Endpoint(key string) (state.Endpoint, bool, error)
	PendingCount(subID string) (int, error)
}

// subscriptionAPI is what the handlers of callback subscriptions use: the store, HipChat (to check a
// room and baseline a new subscription; these calls answer a caller, so they spend the foreground
// budget), the public URL of every absolute Location (known once the server listens), and the
// delivery worker's nudge.
type subscriptionAPI struct {
	store                 SubscriptionStore // nil: every operation answers 503 not_ready
	source                triggers.Source
	users                 triggers.UserSource // looks up the users a filter names
	publicURL             func() string
	allowPrivateCallbacks bool
	nudge                 func()                                                          // wakes the delivery worker after a test event or a resend; never nil
	changed               func(subscriptionID string)                                     // tells the poller and the delivery worker; never nil
	pollPlan              func(connectionID string) (PollPlan, bool)                      // may be nil
	pushStatus            func(connectionID, room string) (state, reason string, ok bool) // may be nil
	secretOverlap         time.Duration
	maxPending            int // the bounded outbox's bound, for the backlog view (0: not shown as held)
	maxSubscriptions      int // the subscriptions one connection may hold
	now                   func() time.Time
	log                   *slog.Logger
}

// handler adapts a subscription handler to gin through the one request→connection adapter. Without
// a store it answers 503 not_ready.
func (d subscriptionAPI) handler(h func(c *gin.Context, conn connector.Connection) error) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		if d.store == nil {
			return &apiError{Status: http.StatusServiceUnavailable, Code: CodeNotReady,
				Message: "callback subscriptions need the database, which this server was started without"}
		}
		return h(c, conn)
	})
}

// owned returns the subscription named by the subscriptionId path parameter when it belongs to
// conn. Errors: 404 subscription_not_found when it does not exist or belongs to another connection
// (the two are indistinguishable on purpose), 500 for a storage failure.
func (d subscriptionAPI) owned(c *gin.Context, conn connector.Connection) (state.Subscription, error) {
	id := strings.TrimSpace(c.Param("subscriptionId"))
	if id == "" {
		return state.Subscription{}, missingField("subscriptionId")
	}
	sub, err := d.store.Subscription(id)
	switch {
	case errors.Is(err, state.ErrNotFound), err == nil && !conn.Is(sub.ConnectionID):
		return state.Subscription{}, subscriptionNotFound()
	case err != nil:
		return state.Subscription{}, err
	}
	return sub, nil
}

// ownedQueueable is owned for operations that queue deliveries (resend, test event, recover): an
// active subscription sends them, a paused one holds them until resumed. Errors: those of owned,
// and 409 subscription_inactive for a suspended or disabled one.
func (d subscriptionAPI) ownedQueueable(c *gin.Context, conn connector.Connection) (state.Subscription, error) {
	sub, err := d.owned(c, conn)
	if err != nil {
		return state.Subscription{}, err
	}
	if sub.Status != state.StatusActive && sub.Status != state.StatusPaused {
		return state.Subscription{}, inactive(sub)
	}
	return sub, nil
}

func subscriptionNotFound() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: CodeSubscriptionNotFound, Field: "subscriptionId",
		Message: "no such subscription for this connection"}
}

// location is the absolute URL of a subscription: where to GET it and DELETE it.
func (d subscriptionAPI) location(id string) string {
	return strings.TrimRight(d.publicURL(), "/") + "/subscriptions/" + id
}

// inactive is the 409 answer for an operation that needs an active subscription.
func inactive(sub state.Subscription) *apiError {
	msg := "the subscription is " + string(sub.Status)
	if sub.StatusReason != "" {
		msg += ": " + sub.StatusReason
	}
	next := "; subscribe again to start a new subscription"
	if sub.Status == state.StatusPaused || sub.Status == state.StatusSuspended {
		next = "; resume it (POST …/resume) first"
	}
	return &apiError{Status: http.StatusConflict, Code: CodeSubscriptionInactive, Field: "subscriptionId",
		Message: msg + next}
}
