package server

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Parameter names, as the connector definition has them.
const (
	paramRoomID  = "roomId"
	paramUserID  = "userId"
	paramMessage = "message"
	// paramCallbackURL is the body member of the webhook triggers.
	paramCallbackURL = "callbackUrl"
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

// withConnection adapts an action to gin: it hands the action the request's connection and writes the
// error the action returns. A route without the auth middleware answers 401.
func withConnection(action func(c *gin.Context, conn connector.Connection) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		conn, ok := connectionOf(c)
		if !ok {
			writeError(c, missingToken())
			return
		}
		if err := action(c, conn); err != nil {
			writeError(c, err)
		}
	}
}
