package server

import (
	"errors"
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

// roomParam is the trimmed path parameter roomId, a room reference as the actions take one.
// Errors: 400 naming roomId (actions.CheckReference).
func roomParam(c *gin.Context) (string, error) {
	room := strings.TrimSpace(c.Param(paramRoomID))
	var invalid *actions.InvalidInput
	if err := actions.CheckReference(paramRoomID, room); errors.As(err, &invalid) {
		return "", invalidInput(invalid)
	}
	return room, nil
}
