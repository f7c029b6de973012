package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// deliveryListLength is how many deliveries ListDeliveries shows, the newest.
const deliveryListLength = 100

// TestEventType is the type of the events SendTestEvent queues.
const TestEventType = "test"

// handleListDeliveries handles GET /subscriptions/{subscriptionId}/deliveries (ListDeliveries): the
// subscription's 100 newest deliveries, newest first, pending, delivered and dead, each with its
// attempts. Errors: 404 subscription_not_found.
func handleListDeliveries(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.owned(c, conn)
		if err != nil {
			return err
		}
		log, err := d.store.Deliveries(sub.ID, deliveryListLength)
		if err != nil {
			return toAPIError(err, subjectSubscription)
		}
		list := DeliveryList{Items: make([]Delivery, len(log))}
		for i, dl := range log {
			list.Items[i] = showDelivery(dl)
		}
		c.JSON(http.StatusOK, list)
		return nil
	})
}

// handleResendDelivery handles POST /subscriptions/{subscriptionId}/deliveries/{deliveryId}/resend
// (ResendDelivery): a delivered or dead delivery is queued again at the end of the subscription's
// queue, with the same webhook-id, and answered 202 with the delivery. Errors: 404
// subscription_not_found, 404 delivery_not_found, 409 delivery_pending (it is still queued), 409
// subscription_inactive for a suspended or disabled subscription (a paused one holds it until resumed).
func handleResendDelivery(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.ownedQueueable(c, conn)
		if err != nil {
			return err
		}
		dl, err := d.store.Resend(sub.ID, strings.TrimSpace(c.Param("deliveryId")))
		if err != nil {
			return toAPIError(err, subjectDelivery)
		}
		d.nudge()
		c.JSON(http.StatusAccepted, showDelivery(dl))
		return nil
	})
}

// belowBound refuses a new delivery (a test event) of subscription id while its pending deliveries
// are at the bounded outbox's bound: a test event costs no HipChat call, and nothing else would stop
// one token from filling the store everyone shares through a subscription that does not drain.
// Errors: 409 backlog_full; the store's.
func (d subscriptionAPI) belowBound(id string) error {
	if d.maxPending <= 0 {
		return nil
	}
	n, err := d.store.PendingCount(id)
	if err != nil {
		return err
	}
	if d.atBound(n) {
		return &apiError{Status: http.StatusConflict, Code: CodeBacklogFull, Field: "subscriptionId",
			Message: fmt.Sprintf("the subscription has %d deliveries waiting, the outbox's bound: send a test event once they drain (resume a paused one; see its health)", n)}
	}
	return nil
}

// testEvent is the body of a test delivery.
type testEvent struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	SubscriptionID string    `json:"subscription_id"`
	Message        string    `json:"message"`
	CreatedAt      time.Time `json:"created_at"`
}

// handleSendTestEvent handles POST /subscriptions/{subscriptionId}/test (SendTestEvent): it queues a signed
// event of type "test" through the outbox like any other (same headers, retries and delivery log)
// and answers 202 with the delivery. Errors: 404 subscription_not_found, 409 subscription_inactive for a
// suspended or disabled one (a paused one holds it until resumed), 409 backlog_full while its pending
// deliveries are at the bounded outbox's bound.
func handleSendTestEvent(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.ownedQueueable(c, conn)
		if err != nil {
			return err
		}
		if err := d.belowBound(sub.ID); err != nil {
			return err
		}
		event := testEvent{
			ID: "test_" + uuid.NewString(), Type: TestEventType, SubscriptionID: sub.ID,
			Message:   "A test event from hipchat-connector: verify its signature with your subscription's secret.",
			CreatedAt: d.now().UTC(),
		}
		payload, err := triggers.EncodePayload(event)
		if err != nil {
			return err
		}
		err = d.store.CommitFeed([]state.CursorAdvance{{SubscriptionID: sub.ID, Events: []state.Event{
			{ID: event.ID, Type: TestEventType, Payload: payload},
		}}})
		if err != nil {
			return err
		}
		dl, err := d.store.Delivery(sub.ID, state.DeliveryID(sub.ID, event.ID))
		if err != nil {
			// Not found: the subscription was paused, disabled or deleted in between, and CommitFeed
			// skipped it.
			return toAPIError(err, subjectSubscription)
		}
		d.nudge()
		c.JSON(http.StatusAccepted, showDelivery(dl))
		return nil
	})
}
