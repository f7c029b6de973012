package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/server/console"
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

// handleNoRoute answers 404 route_not_found, in the one error shape, for a path that is no
// operation and no page, and says where to look: the definition at /swagger.json and the console at
// /console; a path with a trailing slash is told the path without it (paths are not redirected: a
// redirect would answer outside the error shape, and a POST redirected is a POST lost for many
// clients).
func handleNoRoute() gin.HandlerFunc {
	return func(c *gin.Context) {
		writeError(c, &apiError{Status: http.StatusNotFound, Code: CodeRouteNotFound, Message: noRouteMessage(c.Request.Method, c.Request.URL.Path)})
	}
}

// noRouteMessage says why method path is no route, and where to look instead.
func noRouteMessage(method, path string) string {
	const guide = "the operations are listed in /swagger.json (OpenAPI 2.0) and the web console is at " + console.Path
	switch {
	case path == "/":
		return "this is the hipchat-connector API, not a page: " + guide
	case path == console.Path+"/" || strings.HasPrefix(path, console.Path+"/"):
		return "no page at " + path + ": the web console is at " + console.Path
	case len(path) > 1 && strings.HasSuffix(path, "/"):
		return "no operation at " + method + " " + path + ": paths take no trailing slash, try " + strings.TrimRight(path, "/") + "; " + guide
	}
	return "no operation at " + method + " " + path + "; " + guide
}

// consolePage serves the console page and its assets; a path under it that is no file of the page
// answers as handleNoRoute does, in the one error shape.
func consolePage() gin.HandlerFunc {
	noRoute := handleNoRoute()
	page := console.HandlerWithNotFound(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		noRoute(r.Context().Value(ginContextKey{}).(*gin.Context))
	}))
	return func(c *gin.Context) {
		page.ServeHTTP(c.Writer, c.Request.WithContext(context.WithValue(c.Request.Context(), ginContextKey{}, c)))
	}
}

// ginContextKey carries a request's *gin.Context through a plain http.Handler back to the error
// writer.
type ginContextKey struct{}

// handleNoMethod answers 405 method_not_allowed for a known path with another method.
func handleNoMethod() gin.HandlerFunc {
	return func(c *gin.Context) {
		writeError(c, &apiError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: c.Request.Method + " is not an operation of " + c.Request.URL.Path})
	}
}
