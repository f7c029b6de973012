package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// headAsGet registers every GET route of the router it wraps for HEAD as well, with the same
// handlers, since Gin maps no HEAD by itself and monitors, link checkers and proxies send one
// (a 405 tells them the route is broken). net/http drops what a handler writes as the body of a
// HEAD, and keeps its status and headers, so HEAD answers exactly what GET would, without a body.
//
// HEAD runs GET's handler, so HEAD of an operation that calls HipChat (an action, a polling
// trigger) makes the HipChat calls GET makes, no more, counted against the same per-connection
// budget (429 once it is spent). That is a choice: an answer without calling HipChat could only
// guess GET's status (the token rejected, the room unknown, the budget spent), and a HEAD that says
// 200 where GET says 404 misleads the very checkers that send it. A HEAD of a polling trigger
// answers GET's Location and Retry-After; a caller that follows that Location skips the items
// whose body it did not read, as with GET.
type headAsGet struct{ gin.IRouter }

// GET registers handlers for GET and HEAD of path.
func (r headAsGet) GET(path string, handlers ...gin.HandlerFunc) {
	r.Handle(http.MethodGet, path, handlers...)
}

// Handle registers handlers for method and path, and for HEAD of path too when method is GET.
func (r headAsGet) Handle(method, path string, handlers ...gin.HandlerFunc) {
	r.IRouter.Handle(method, path, handlers...)
	if method == http.MethodGet {
		r.IRouter.Handle(http.MethodHead, path, handlers...)
	}
}

// Group is a group of the wrapped router's, whose GET routes answer HEAD too.
func (r headAsGet) Group(path string, handlers ...gin.HandlerFunc) headAsGet {
	return headAsGet{r.IRouter.Group(path, handlers...)}
}
