package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// handleSubscribe handles the webhook triggers: POST /subscriptions/rooms/{roomId}/messages
// (OnNewMessageWebhook, kind triggers.KindMessage), …/files (OnNewFileWebhook, triggers.KindFile)
// and POST /subscriptions/rooms (OnNewRoomWebhook, triggers.KindRoom), each with the body
// {"callbackUrl":"…"}. It checks the room with one HipChat call that also takes the baseline (the
// subscription starts from now), stores the subscription with the token and a new signing secret
// sealed, and answers 201 with an absolute Location (where to DELETE it) and the subscription,
// whose secret is shown this once.
//
// Errors: 400 missing_field / invalid_json / invalid_field naming roomId or callbackUrl (not an
// absolute http(s) URL, or a loopback, private or link-local target without
// -allow-private-callbacks); from HipChat 404 room_not_found, 401, 403, 429, 502/504.
func handleSubscribe(d subscriptionAPI, kind triggers.Kind) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		room := ""
		if kind.Room() {
			room = strings.TrimSpace(c.Param(paramRoomID))
			if room == "" {
				return missingField(paramRoomID)
			}
		}
		callback, err := readCallbackURL(c.Request)
		if err != nil {
			return err
		}
		if err := webhook.CheckCallbackURL(callback, d.allowPrivateCallbacks); err != nil {
			return toAPIError(err, subjectUnknown)
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
			ConnectionID: conn.ID, Kind: kind, RoomID: room, CallbackURL: callback,
			Token: conn.Token(), Secret: secret, HipChatURL: conn.BaseURL, Cursor: cursor,
		})
		if err != nil {
			return err
		}
		d.log.Info("subscribed", "subscription", sub.ID, "connection", conn, "kind", kind, "room", room)
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

// readCallbackURL reads the body {"callbackUrl":"…"} and returns the URL, trimmed.
func readCallbackURL(r *http.Request) (string, error) {
	callbackURL, err := readStringField(r, paramCallbackURL, `{"callbackUrl":"https://example.com/hook"}`)
	return strings.TrimSpace(callbackURL), err
}
