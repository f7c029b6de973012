package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// handlePauseSubscription handles POST /subscriptions/{subscriptionId}/pause (PauseSubscription):
// deliveries are held while the poller keeps reading and queuing (nothing is dropped); 200 with the
// subscription, status paused. Pausing a paused or suspended one pauses it. Errors: 404
// subscription_not_found, 409 subscription_inactive for a disabled one.
func handlePauseSubscription(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.owned(c, conn)
		if err != nil {
			return err
		}
		paused, err := d.pause(sub, "the subscriber", conn.ID)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, d.showSubscription(paused))
		return nil
	})
}

// pause pauses sub on behalf of by ("the subscriber", "an operator"): the one semantics of
// PauseSubscription and of the operator's pause. Errors: 409 subscription_inactive for a disabled
// one, the store's.
func (d subscriptionAPI) pause(sub state.Subscription, by, connectionID string) (state.Subscription, error) {
	if sub.Status == state.StatusDisabled {
		return state.Subscription{}, inactive(sub)
	}
	reason := "paused by " + by + " at " + d.now().UTC().Format(time.RFC3339) + "; resume to deliver what was held"
	paused, err := d.store.UpdateStatus(sub.ID, state.StatusPaused, reason)
	if err != nil {
		return state.Subscription{}, toAPIError(err, subjectSubscription)
	}
	d.changed(sub.ID)
	d.log.Info("subscription paused", "subscription", sub.ID, "connection", connectionID, "by", by)
	return paused, nil
}

// resume resumes sub on behalf of by: a paused one delivers what was held, a suspended one is
// polled again; an active one is left as it is. Errors: 409 subscription_inactive for a disabled
// one, the store's.
func (d subscriptionAPI) resume(sub state.Subscription, by, connectionID string) (state.Subscription, error) {
	if sub.Status == state.StatusDisabled {
		return state.Subscription{}, inactive(sub)
	}
	if sub.Status == state.StatusActive {
		return sub, nil
	}
	resumed, err := d.store.UpdateStatus(sub.ID, state.StatusActive, "")
	if err != nil {
		return state.Subscription{}, toAPIError(err, subjectSubscription)
	}
	d.changed(sub.ID)
	d.log.Info("subscription resumed", "subscription", sub.ID, "connection", connectionID, "by", by)
	d.nudge()
	return resumed, nil
}

// handleResumeSubscription handles POST /subscriptions/{subscriptionId}/resume (ResumeSubscription):
// a paused subscription delivers what was held; a suspended one (HipChat rejected the token) is
// polled again, which is how a user says the token works again. 200 with the subscription, status
// active; resuming an active one changes nothing. Errors: 404 subscription_not_found, 409
// subscription_inactive for a disabled one (final: subscribe again).
func handleResumeSubscription(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.owned(c, conn)
		if err != nil {
			return err
		}
		if sub, err = d.resume(sub, "the subscriber", conn.ID); err != nil {
			return err
		}
		c.JSON(http.StatusOK, d.showSubscription(sub))
		return nil
	})
}

// RecoverResult is RecoverDeliveries' answer.
type RecoverResult struct {
	Queued int `json:"queued"`
}

// handleRecoverDeliveries handles POST /subscriptions/{subscriptionId}/recover (RecoverDeliveries)
// with {"since":"<RFC 3339>"}: every failed or dead delivery created since then goes out again,
// with its webhook-id; 202 {"queued": n}. Errors: 400 missing_field or invalid_field naming since
// (not RFC 3339, or in the future), 404 subscription_not_found, 409 subscription_inactive for a
// suspended or disabled one (a paused one holds what it queues until resumed).
func handleRecoverDeliveries(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.ownedQueueable(c, conn)
		if err != nil {
			return err
		}
		body, err := readJSONObject(c.Request, paramSince, `{"since":"2026-12-01T09:00:00Z"}`)
		if err != nil {
			return err
		}
		raw, err := body.requiredString(paramSince)
		if err != nil {
			return err
		}
		since, err := time.Parse(time.RFC3339, strings.TrimSpace(raw))
		if err != nil {
			return invalidField(paramSince, CodeInvalidField, "since must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
		}
		if since.After(d.now()) {
			return invalidField(paramSince, CodeInvalidField, "since is in the future; nothing was created after it yet")
		}
		n, err := d.store.Recover(sub.ID, since)
		if err != nil {
			return toAPIError(err, subjectSubscription)
		}
		d.log.Info("deliveries recovered", "subscription", sub.ID, "connection", conn, "since", since, "queued", n)
		if n > 0 {
			d.nudge()
		}
		c.JSON(http.StatusAccepted, RecoverResult{Queued: n})
		return nil
	})
}

// handleRotateSecret handles POST /subscriptions/{subscriptionId}/rotate-secret
// (RotateSubscriptionSecret): a new signing secret, shown this once; the old one keeps signing
// beside it (webhook-signature carries both, space-separated) until previous_secret_expires_at,
// -secret-overlap from now. 200 with the subscription. Errors: 404 subscription_not_found, 409
// subscription_inactive for a disabled one.
func handleRotateSecret(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.owned(c, conn)
		if err != nil {
			return err
		}
		if sub.Status == state.StatusDisabled {
			return inactive(sub)
		}
		secret, err := webhook.NewSecret()
		if err != nil {
			return err
		}
		expires := d.now().Add(d.secretOverlap)
		rotated, err := d.store.RotateSecret(sub.ID, secret, expires)
		if err != nil {
			return toAPIError(err, subjectSubscription)
		}
		d.changed(sub.ID)
		d.log.Info("signing secret rotated", "subscription", sub.ID, "connection", conn,
			"previous_secret_expires_at", expires.UTC().Format(time.RFC3339))
		view := d.showSubscription(rotated)
		view.Secret = rotated.Secret
		c.JSON(http.StatusOK, view)
		return nil
	})
}
