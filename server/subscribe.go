package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// handleSubscribe handles the webhook triggers: POST /subscriptions/rooms/{roomId}/messages
// (OnNewMessageWebhook), …/mentions (OnMentionWebhook), …/keywords (OnKeywordWebhook), …/files
// (OnNewFileWebhook) and POST /subscriptions/rooms (OnNewRoomWebhook), each with the body
// {"callbackUrl":"…"} and, for the message and file triggers, the filter members (mentions,
// includeAtAll, keywords, pattern, from, include). It checks the body, looks up the users the filter
// names (me once per connection), resolves the room (HipChat's id and name, which every delivery
// then carries, whether the room was given by id or by name), takes the baseline with one more
// HipChat call (the subscription starts from now), stores the subscription with its filter and with
// the token and a new signing secret sealed, and answers 201 with an absolute Location (where to
// DELETE it) and the subscription, whose secret is shown this once. Nothing is stored when any step
// fails.
//
// Errors: 400 missing_field / invalid_json / invalid_field / field_too_long naming roomId,
// callbackUrl (not an absolute http(s) URL, a loopback or private target without
// -allow-private-callbacks, or a link-local, multicast or unspecified one ever) or a filter member
// (an invalid or too long pattern, a user HipChat does not know, me on a token of no user); from
// HipChat 404 room_not_found, 401, 403, 429, 502/504.
func handleSubscribe(d subscriptionAPI, trigger roomTrigger) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		kind := trigger.kind
		room := ""
		if kind.Room() {
			var err error
			if room, err = roomParam(c); err != nil {
				return err
			}
		}
		body, err := readSubscribeBody(c.Request, trigger)
		if err != nil {
			return err
		}
		if err := d.canHoldAnother(conn); err != nil {
			return err
		}
		callback := body.callbackURL
		if err := webhook.CheckCallbackURL(callback, d.allowPrivateCallbacks); err != nil {
			return toAPIError(err, subjectUnknown)
		}
		filter, err := triggers.ResolveFilter(c.Request.Context(), d.users, conn, body.filter)
		if err != nil {
			return toAPIError(err, subjectUnknown)
		}
		var resolved triggers.ResolvedRoom
		if kind.Room() {
			if resolved, err = triggers.ResolveRoom(c.Request.Context(), d.source, conn, room); err != nil {
				return toAPIError(err, subjectRoom)
			}
		}
		cursor, err := triggers.Baseline(c.Request.Context(), d.source, conn, kind, room)
		if err != nil {
			return toAPIError(err, subjectOf(kind))
		}
		secret, err := webhook.NewSecret()
		if err != nil {
			return err
		}
		sub, err := d.store.CreateSubscription(state.Subscription{
			ConnectionID: conn.ID, Kind: kind, RoomID: room, Room: resolved, CallbackURL: callback,
			Token: conn.Token(), Secret: secret, HipChatURL: conn.BaseURL, Cursor: cursor,
			Ordering: body.ordering, MaxPerSecond: body.maxPerSecond, Filter: filter,
		})
		if err != nil {
			return err
		}
		d.changed(sub.ID)
		d.log.Info("subscribed", "subscription", sub.ID, "connection", conn, "kind", kind, "room", room, "room_id", resolved.ID, "filtered", !filter.IsZero())
		view := d.showSubscription(sub)
		view.Secret = sub.Secret
		c.Header("Location", view.Location)
		c.JSON(http.StatusCreated, view)
		return nil
	})
}

func subjectOf(kind triggers.Kind) notFoundSubject {
	if kind.Room() {
		return subjectRoom
	}
	return subjectUnknown
}

// subscribeBody is the body of the webhook triggers.
type subscribeBody struct {
	callbackURL  string
	ordering     state.Ordering
	maxPerSecond float64
	filter       triggers.FilterSpec // its users not yet looked up
}

// maxSubscriptionRate bounds maxPerSecond: more than any receiver asks for, and within what the
// rate limiter represents exactly. minSubscriptionRate is the least one other than 0: a rate such
// as 1e-300 would hold every delivery after the first for ever, which no receiver asks for.
const (
	maxSubscriptionRate = 10000
	minSubscriptionRate = 0.01
)

// readSubscribeBody reads {"callbackUrl":"…","ordering":"best_effort"|"fifo","maxPerSecond":n} and
// the trigger's filter members: the URL trimmed, ordering best_effort when absent. Errors, naming
// the field: those of readJSONObject and requiredString for callbackUrl; 400 invalid_field for an
// ordering that is neither, or a maxPerSecond that is neither 0 nor a number from 0.01 to 10,000;
// those of roomTrigger.filter for the filter.
func readSubscribeBody(r *http.Request, trigger roomTrigger) (subscribeBody, error) {
	body, err := readJSONObject(r, paramCallbackURL, `{"callbackUrl":"https://example.com/hook"}`)
	if err != nil {
		return subscribeBody{}, err
	}
	callback, err := body.requiredString(paramCallbackURL)
	if err != nil {
		return subscribeBody{}, err
	}
	ordering, err := body.optionalString(paramOrdering)
	if err != nil {
		return subscribeBody{}, err
	}
	parsed := state.Ordering(strings.TrimSpace(ordering)).OrDefault()
	if !parsed.Valid() {
		return subscribeBody{}, invalidField(paramOrdering, CodeInvalidField,
			"ordering must be best_effort (each delivery retried on its own, the default) or fifo (one at a time, in order)")
	}
	rate, err := body.optionalNumber(paramMaxPerSecond)
	if err != nil {
		return subscribeBody{}, err
	}
	if rate != 0 && (rate < minSubscriptionRate || rate > maxSubscriptionRate) {
		return subscribeBody{}, invalidField(paramMaxPerSecond, CodeInvalidField,
			"maxPerSecond must be 0 (no limit of its own) or from 0.01 (one every 100 seconds) to 10000")
	}
	params, err := filterFromBody(body)
	if err != nil {
		return subscribeBody{}, err
	}
	filter, err := trigger.filter(params)
	if err != nil {
		return subscribeBody{}, toAPIError(err, subjectUnknown)
	}
	return subscribeBody{callbackURL: strings.TrimSpace(callback), ordering: parsed, maxPerSecond: rate, filter: filter}, nil
}

// DefaultMaxSubscriptions is how many subscriptions one connection may hold unless the operator
// says otherwise (-max-subscriptions-per-connection). With the bounded outbox
// (-max-pending-per-subscription) it bounds what one token can make the store hold for it:
// without it, a token could add subscriptions (two HipChat calls each) until the disk everyone
// shares is full.
const DefaultMaxSubscriptions = 100

// canHoldAnother refuses a subscribe of conn when it already holds d.maxSubscriptions
// subscriptions, whatever their status (a paused or disabled one still keeps its deliveries): it
// is checked before any HipChat call, and two subscribes at the same moment may both pass it.
// Errors: 409 too_many_subscriptions; the store's.
func (d subscriptionAPI) canHoldAnother(conn connector.Connection) error {
	if d.maxSubscriptions <= 0 {
		return nil
	}
	subs, err := d.store.SubscriptionsOf(conn.ID)
	if err != nil {
		return err
	}
	if len(subs) >= d.maxSubscriptions {
		return &apiError{Status: http.StatusConflict, Code: CodeTooManySubscriptions,
			Message: fmt.Sprintf("this connection holds %d subscriptions, the most it may: delete one it no longer uses (ListSubscriptions lists them)", len(subs))}
	}
	return nil
}
