package subscriptions

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/server/httpapi"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// Error codes of this API, beside those of httpapi.
const (
	CodeSubscriptionNotFound = "subscription_not_found" // 404: no such subscription for this connection
	CodeDeliveryNotFound     = "delivery_not_found"     // 404: no such delivery of the subscription
	CodeSubscriptionInactive = "subscription_inactive"  // 409: the subscription is paused or disabled
	CodeDeliveryPending      = "delivery_pending"       // 409: the delivery is still waiting to be sent
)

// Deps are what the handlers use.
type Deps struct {
	// Store holds subscriptions and their outbox. Required.
	Store *state.Store
	// Source reads HipChat to check a room and baseline a new subscription (a *connector.Client;
	// these calls answer a caller, so they spend the foreground budget).
	Source triggers.Source
	// PublicURL returns the base of every absolute Location (the server's public URL, known once it
	// listens).
	PublicURL func() string
	// AllowPrivateCallbacks accepts callback URLs on loopback and private networks (tests, the demo).
	AllowPrivateCallbacks bool
	// Nudge wakes the delivery worker after a test event or a resend is queued. Optional.
	Nudge func()
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

func (d Deps) nudge() {
	if d.Nudge != nil {
		d.Nudge()
	}
}

func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

// handler adapts a handler that returns an error to gin: it hands over the request's connection
// and writes the error with httpapi's one writer. Without a store it answers 503 not_ready.
func (d Deps) handler(h func(c *gin.Context, conn connector.Connection) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d.Store == nil {
			httpapi.WriteError(c, &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeNotReady,
				Message: "callback subscriptions need the database, which this server was started without"})
			return
		}
		conn, ok := httpapi.Connection(c)
		if !ok {
			httpapi.WriteError(c, httpapi.MissingToken())
			return
		}
		if err := h(c, conn); err != nil {
			httpapi.WriteError(c, err)
		}
	}
}

// owned returns the subscription named by the subscriptionId path parameter when it belongs to
// conn. Errors: 404 subscription_not_found when it does not exist or belongs to another connection
// (the two are indistinguishable on purpose), 500 for a storage failure.
func (d Deps) owned(c *gin.Context, conn connector.Connection) (state.Subscription, error) {
	id := strings.TrimSpace(c.Param("subscriptionId"))
	if id == "" {
		return state.Subscription{}, httpapi.MissingField("subscriptionId")
	}
	sub, err := d.Store.Subscription(id)
	switch {
	case errors.Is(err, state.ErrNotFound), err == nil && sub.ConnectionID != conn.ID:
		return state.Subscription{}, subscriptionNotFound()
	case err != nil:
		return state.Subscription{}, err
	}
	return sub, nil
}

func subscriptionNotFound() *httpapi.Error {
	return &httpapi.Error{Status: http.StatusNotFound, Code: CodeSubscriptionNotFound, Field: "subscriptionId",
		Message: "no such subscription for this connection"}
}

// location is the absolute URL of a subscription: where to GET it and DELETE it.
func (d Deps) location(id string) string {
	return strings.TrimRight(d.PublicURL(), "/") + "/subscriptions/" + id
}

// inactive is the 409 answer for an operation that needs an active subscription.
func inactive(sub state.Subscription) *httpapi.Error {
	msg := "the subscription is " + sub.Status
	if sub.StatusReason != "" {
		msg += ": " + sub.StatusReason
	}
	return &httpapi.Error{Status: http.StatusConflict, Code: CodeSubscriptionInactive, Field: "subscriptionId",
		Message: msg + "; subscribe again to start a new subscription"}
}
