package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleHealthz answers 200 while the process runs: liveness.
func handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	}
}

// handleReadyz answers 200 when ready returns nil and 503 not_ready with the reason otherwise:
// readiness, for load balancers and for tests waiting for the server.
func handleReadyz(ready func() error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := ready(); err != nil {
			writeError(c, &apiError{Status: http.StatusServiceUnavailable, Code: CodeNotReady,
				Message: "not ready: " + err.Error()})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}

// handleNoRoute answers 404 route_not_found for a path that is no operation.
func handleNoRoute() gin.HandlerFunc {
	return func(c *gin.Context) {
		writeError(c, &apiError{Status: http.StatusNotFound, Code: CodeRouteNotFound,
			Message: "no operation at " + c.Request.Method + " " + c.Request.URL.Path + "; see /swagger.json"})
	}
}

// handleNoMethod answers 405 method_not_allowed for a known path with another method.
func handleNoMethod() gin.HandlerFunc {
	return func(c *gin.Context) {
		writeError(c, &apiError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: c.Request.Method + " is not an operation of " + c.Request.URL.Path})
	}
}
