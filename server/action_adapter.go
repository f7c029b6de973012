package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

// actionRoute is one row of the action table: an operation of the connector definition served by an
// action of package actions.
type actionRoute struct {
	method      string
	path        string // in Gin's syntax: /rooms/:roomId/members
	operationID string // the definition's operationId for method and path (routes_test checks it)
	success     int    // the status of a success: the output is its JSON body, none for 204
	// notFound says which parameter a HipChat 404 is about, so the answer names it.
	notFound notFoundSubject
	// run reads the action's input from the request and runs it: see runAction.
	run boundAction
}

// boundAction is an action with the binder of its input, ready for a request.
type boundAction func(r *request, hipchat actions.HipChat, conn connector.Connection) (any, error)

// runAction pairs an action with bind, which reads its input from a request: path parameters
// (trimmed) with r.path, the body's members with r.body and the jsonBody helpers. A binder checks
// the types of what it reads; whether a value is required or too long is the action's to say
// (Input.Validate), and the action says it before any HipChat call.
func runAction[In actions.Input, Out any](
	action func(ctx context.Context, hipchat actions.HipChat, conn connector.Connection, in In) (Out, error),
	bind func(r *request) (In, error),
) boundAction {
	return func(r *request, hipchat actions.HipChat, conn connector.Connection) (any, error) {
		in, err := bind(r)
		if err != nil {
			return nil, r.paramsFirst(in, err)
		}
		return action(r.c.Request.Context(), hipchat, conn, in)
	}
}

// noInput is the binder of an action that takes no input, such as a picker.
func noInput(*request) (actions.NoInput, error) { return actions.NoInput{}, nil }

// handler serves the row behind the request's connection: it runs the action and answers its output
// with the row's success status, or the error through toAPIError, its 404 naming the row's subject.
func (row actionRoute) handler(hipchat actions.HipChat) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		out, err := row.run(&request{c: c}, hipchat, conn)
		if err != nil {
			return toAPIError(err, row.notFound)
		}
		if row.success == http.StatusNoContent {
			c.Status(http.StatusNoContent)
			return nil
		}
		c.JSON(row.success, out)
		return nil
	})
}

// request is what a binder reads an action's input from. It remembers which parameters of the URL
// were read, whose refusals come before the body's (paramsFirst).
type request struct {
	c      *gin.Context
	params map[string]bool
}

// path returns the path parameter name, trimmed; blank is the action's to refuse.
func (r *request) path(name string) string {
	r.remember(name)
	return strings.TrimSpace(r.c.Param(name))
}

// remember notes that the URL parameter name was read.
func (r *request) remember(name string) {
	if r.params == nil {
		r.params = map[string]bool{}
	}
	r.params[name] = true
}

// body reads the JSON object body, as readJSONObject does: field is the member the action needs most
// and example a sample body, for the errors of a body that is no object at all.
func (r *request) body(field, example string) (jsonBody, error) {
	return readJSONObject(r.c.Request, field, example)
}

// paramsFirst picks the answer when binding failed (a body too large, not JSON, a member of the
// wrong type): the input's own refusal if it names a parameter of the URL, which a caller reads
// before the body (and the handlers before the table answered so), else the binding's error.
func (r *request) paramsFirst(in actions.Input, bindErr error) error {
	var invalid *actions.InvalidInput
	if errors.As(in.Validate(), &invalid) && r.params[invalid.Field] {
		return invalid
	}
	return bindErr
}
