package server

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// doorbellRoute is the route of HipChat's room webhooks; the access log never shows its secret.
const doorbellRoute = "/hipchat/rooms/:feed/:secret"

// handleDoorbell handles POST /hipchat/rooms/{feed}/{secret}: a HipChat room webhook of a feed on
// push. It answers 204 at once when ring accepts the feed and its secret (the feed is read in the
// background, through the same cursor-and-outbox path as a tick; the body, read within the body
// limit, only tells ring which message it announces), and 404 route_not_found for anything else —
// an unknown feed, a wrong secret, push off — which costs no HipChat call and tells a prober
// nothing.
func handleDoorbell(ring func(feed, secret string, payload []byte) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		payload, _ := io.ReadAll(c.Request.Body) // a body too large or cut short announces nothing
		if ring == nil || !ring(c.Param("feed"), c.Param("secret"), payload) {
			writeError(c, &apiError{Status: http.StatusNotFound, Code: CodeRouteNotFound, Message: "no operation at this path"})
			return
		}
		c.Status(http.StatusNoContent)
	}
}
