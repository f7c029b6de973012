package server

import (
	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// connectionKey is where the auth middleware keeps the request's connection in the gin context.
const connectionKey = "hipchat-connector.connection"

// SetConnection stores the request's connection; only the auth middleware calls it.
func setConnection(c *gin.Context, conn connector.Connection) { c.Set(connectionKey, conn) }

// Connection returns the connection the auth middleware stored, and false on a route without it.
func connectionOf(c *gin.Context) (connector.Connection, bool) {
	v, ok := c.Get(connectionKey)
	if !ok {
		return connector.Connection{}, false
	}
	conn, ok := v.(connector.Connection)
	return conn, ok
}

// MissingToken is the 401 answer for a request without a usable token.
func missingToken() *apiError {
	return &apiError{Status: 401, Code: CodeMissingToken,
		Message: "the HipChat token is missing: send it as Authorization: Bearer <token> (or the bare token)"}
}
