package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// handleListSubscriptions handles GET /subscriptions (ListSubscriptions): the caller's subscriptions, with status,
// cursor and health. Errors: 401 without a token; 500 for a storage failure.
func handleListSubscriptions(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		subs, err := d.store.SubscriptionsOf(conn.ID)
		if err != nil {
			return err
		}
		list := SubscriptionList{Items: make([]Subscription, len(subs))}
		for i, sub := range subs {
			list.Items[i] = d.showSubscription(sub)
		}
		c.JSON(http.StatusOK, list)
		return nil
	})
}

// handleGetSubscription handles GET /subscriptions/{subscriptionId} (GetSubscription): one subscription with its
// cursor and health; never its token or secret. Errors: 404 subscription_not_found (also for
// another connection's).
func handleGetSubscription(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		sub, err := d.owned(c, conn)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, d.showSubscription(sub))
		return nil
	})
}

// handleDeleteSubscription handles DELETE /subscriptions/{subscriptionId} (DeleteSubscription, the Location of a
// subscription): it deletes the subscription with its cursor and pending deliveries and answers 204.
// It is idempotent, as the webhook protocol asks: an id that does not exist answers 204 too, and so
// does another connection's subscription, which is left untouched (answering otherwise would tell
// the caller that it exists). Errors: 401 without a token; 500 for a storage failure.
func handleDeleteSubscription(d subscriptionAPI) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		id := strings.TrimSpace(c.Param("subscriptionId"))
		sub, err := d.store.Subscription(id)
		switch {
		case errors.Is(err, state.ErrNotFound):
			c.Status(http.StatusNoContent)
			return nil
		case err != nil:
			return err
		case !conn.Is(sub.ConnectionID):
			c.Status(http.StatusNoContent)
			return nil
		}
		if err := d.store.DeleteSubscription(id); err != nil && !errors.Is(err, state.ErrNotFound) {
			return err
		}
		d.changed(id)
		d.log.Info("unsubscribed", "subscription", id, "connection", conn)
		c.Status(http.StatusNoContent)
		return nil
	})
}
