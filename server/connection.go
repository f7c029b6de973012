package server

import (
	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// connectionKey is where the auth middleware keeps the request's connection in the gin context.
const connectionKey = "hipchat-connector.connection"

// setConnection stores the request's connection; only the auth middleware calls it.
func setConnection(c *gin.Context, conn connector.Connection) { c.Set(connectionKey, conn) }

// connectionOf returns the connection the auth middleware stored, and false on a route without it.
func connectionOf(c *gin.Context) (connector.Connection, bool) {
	v, ok := c.Get(connectionKey)
	if !ok {
		return connector.Connection{}, false
	}
	conn, ok := v.(connector.Connection)
	return conn, ok
}

// missingToken is the 401 answer for a request without a usable token.
func missingToken() *apiError {
	return &apiError{Status: 401, Code: CodeMissingToken,
		Message: "the HipChat token is missing: send it as Authorization: Bearer <token> (or the bare token)"}
}

// requireConnection is the auth of every operation: it takes the HipChat token from Authorization
// ("Bearer <t>" or the bare token), makes the connection to hipchatURL and stores it for the
// handlers. Without a token it answers 401 missing_token.
func requireConnection(hipchatURL string) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := connector.TokenFromAuthorization(c.GetHeader("Authorization"))
		if !ok {
			writeError(c, missingToken())
			return
		}
		setConnection(c, connector.NewConnection(token, hipchatURL))
		c.Next()
	}
}

// withConnection is the one request→connection adapter of every operation: it hands the handler the
// request's connection and writes the error the handler returns with the one writer. A route
// without the auth middleware answers 401.
func withConnection(handle func(c *gin.Context, conn connector.Connection) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		conn, ok := connectionOf(c)
		if !ok {
			writeError(c, missingToken())
			return
		}
		if err := handle(c, conn); err != nil {
			writeError(c, err)
		}
	}
}
