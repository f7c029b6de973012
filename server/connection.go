package server

import (
	"net/http"

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

// operatorCredentialGiven is the 401 answer for the operator credential sent where a HipChat
// token goes. It never quotes the credential.
func operatorCredentialGiven() *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: CodeOperatorCredential,
		Message: "this is the operator credential, not a HipChat token: it opens only the operator routes (/admin/, and the console's operator sign-in), " +
			"so it was not sent to HipChat; send the connection's HipChat personal access token here"}
}

// requireConnection is the auth of every operation: it takes the HipChat token from Authorization
// ("Bearer <t>" or the bare token), makes the connection to hipchatURL and stores it for the
// handlers. Errors: 401 missing_token without a token; 401 operator_credential when the token is
// the operator credential (operator; nil: none is configured), which then goes to no HipChat call
// and into no connection, since HipChat would only reject it and a connection would keep it.
func requireConnection(hipchatURL string, operator *operatorAPI) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := connector.TokenFromAuthorization(c.GetHeader("Authorization"))
		if !ok {
			writeError(c, missingToken())
			return
		}
		if operator.isCredential(token) {
			writeError(c, operatorCredentialGiven())
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
