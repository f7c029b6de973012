package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleDoorbell handles POST /hipchat/rooms/{feed}/{secret}: a HipChat room webhook of a feed on
// push. It answers 204 at once when ring accepts the feed and its secret (the feed is read in the
// background, through the same cursor-and-outbox path as a tick; the body is not read), and 404
// route_not_found for anything else — an unknown feed, a wrong secret, push off — which costs no
// HipChat call and tells a prober nothing.
func handleDoorbell(ring func(feed, secret string) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ring == nil || !ring(c.Param("feed"), c.Param("secret")) {
			writeError(c, &apiError{Status: http.StatusNotFound, Code: CodeRouteNotFound, Message: "no operation at this path"})
			return
		}
		c.Status(http.StatusNoContent)
	}
}
