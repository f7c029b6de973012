package subscriptions

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/server/httpapi"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// Parameter names, as the connector definition has them.
const (
	paramRoomID      = "roomId"
	paramCallbackURL = "callbackUrl"
)

// Subscribe handles the webhook triggers: POST /subscriptions/rooms/{roomId}/messages
// (OnNewMessageWebhook, kind state.KindMessage), …/files (OnNewFileWebhook, state.KindFile) and
// POST /subscriptions/rooms (OnNewRoomWebhook, state.KindRoom), each with the body
// {"callbackUrl":"…"}. It checks the room with one HipChat call that also takes the baseline (the
// subscription starts from now), stores the subscription with the token and a new signing secret
// sealed, and answers 201 with an absolute Location (where to DELETE it) and the subscription,
// whose secret is shown this once.
//
// Errors: 400 missing_field / invalid_json / invalid_field naming roomId or callbackUrl (not an
// absolute http(s) URL, or a loopback, private or link-local target without
// -allow-private-callbacks); from HipChat 404 room_not_found, 401, 403, 429, 502/504.
func Subscribe(d Deps, kind string) gin.HandlerFunc {
	return d.handler(func(c *gin.Context, conn connector.Connection) error {
		room := ""
		if kind != state.KindRoom {
			room = strings.TrimSpace(c.Param(paramRoomID))
			if room == "" {
				return httpapi.MissingField(paramRoomID)
			}
		}
		callback, err := readCallbackURL(c.Request)
		if err != nil {
			return err
		}
		if err := poller.CheckCallbackURL(callback, d.AllowPrivateCallbacks); err != nil {
			return httpapi.InvalidField(paramCallbackURL, httpapi.CodeInvalidField, "callbackUrl: "+err.Error())
		}
		cursor, err := poller.Baseline(c.Request.Context(), d.Source, conn, kind, room)
		if err != nil {
			return httpapi.FromUpstream(err, subjectOf(kind))
		}
		secret, err := poller.NewSecret()
		if err != nil {
			return err
		}
		sub, err := d.Store.CreateSubscription(state.Subscription{
			ConnectionID: conn.ID, Kind: kind, RoomID: room, CallbackURL: callback,
			Token: conn.Token(), Secret: secret, HipChatURL: conn.BaseURL, Cursor: cursor,
		})
		if err != nil {
			return err
		}
		d.logger().Info("subscribed", "subscription", sub.ID, "connection", conn, "kind", kind, "room", room)
		view := d.showSubscription(sub)
		view.Secret = sub.Secret
		c.Header("Location", view.Location)
		c.JSON(http.StatusCreated, view)
		return nil
	})
}

func subjectOf(kind string) httpapi.NotFoundSubject {
	if kind == state.KindRoom {
		return httpapi.SubjectUnknown
	}
	return httpapi.SubjectRoom
}

// readCallbackURL reads the body {"callbackUrl":"…"} and returns the URL, trimmed.
func readCallbackURL(r *http.Request) (string, error) {
	callbackURL, err := httpapi.ReadStringField(r, paramCallbackURL, `{"callbackUrl":"https://example.com/hook"}`)
	return strings.TrimSpace(callbackURL), err
}
