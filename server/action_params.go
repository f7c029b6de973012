package server

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// Parameter names, as the connector definition has them.
const (
	paramRoomID  = "roomId"
	paramUserID  = "userId"
	paramMessage = "message"
	// paramCallbackURL, paramOrdering and paramMaxPerSecond are the body members of the webhook
	// triggers; paramSince the one of RecoverDeliveries.
	paramCallbackURL  = "callbackUrl"
	paramOrdering     = "ordering"
	paramMaxPerSecond = "maxPerSecond"
	paramSince        = "since"
)

// MaxMessageLength is the longest message, in characters, that PostMessage sends. HipChat documents no
// limit for messages posted as a user; spec/hipchat-v2.md infers 1–1000 by analogy with share
// messages (notifications take 10,000). Longer messages are refused here, without a call.
const MaxMessageLength = 1000

// pathParam returns the path parameter name, trimmed, or a 400 naming it when it is blank.
func pathParam(c *gin.Context, name string) (string, error) {
	v := strings.TrimSpace(c.Param(name))
	if v == "" {
		return "", missingField(name)
	}
	return v, nil
}
