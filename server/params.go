package server

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/actions"
)

// Parameter names, as the connector definition has them; those the actions take are spelled once,
// in package actions, so that a refusal names the parameter the request carried.
const (
	paramRoomID  = actions.FieldRoomID
	paramUserID  = actions.FieldUserID
	paramMessage = actions.FieldMessage
	// paramCallbackURL, paramOrdering and paramMaxPerSecond are the body members of the webhook
	// triggers; paramSince the one of RecoverDeliveries.
	paramCallbackURL  = "callbackUrl"
	paramOrdering     = "ordering"
	paramMaxPerSecond = "maxPerSecond"
	paramSince        = "since"
)

// pathParam returns the path parameter name, trimmed, or a 400 naming it when it is blank.
func pathParam(c *gin.Context, name string) (string, error) {
	v := strings.TrimSpace(c.Param(name))
	if v == "" {
		return "", missingField(name)
	}
	return v, nil
}
