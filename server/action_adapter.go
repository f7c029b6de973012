package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	// scope is the HipChat scope the action's calls need: a 403 whose HipChat message names no
	// scope names this one.
	scope string
	// fileUpload marks the row whose body carries a file in base64: its body may be as large as the
	// largest file allows (fileBodyLimit), and the bodies in flight are bounded (uploadBudget).
	fileUpload bool
}

// actionEnv is what the handlers of the table share, from the server's options.
type actionEnv struct {
	maxFileBytes int64         // the largest file ShareFileWithRoom shares
	uploads      *uploadBudget // the file shares in flight; nil: unbounded
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
// with the row's success status, or the error through toAPIError, its 404 naming the row's subject
// and its 403 the row's scope. A file-upload row first counts its body against env's upload budget
// (429 when it cannot take it now).
func (row actionRoute) handler(hipchat actions.HipChat, env actionEnv) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		if row.fileUpload && env.uploads != nil {
			release, err := env.uploads.acquire(conn.ID, env.uploads.costOf(c.Request))
			if err != nil {
				return err
			}
			defer release()
		}
		out, err := row.run(&request{c: c, maxFileBytes: env.maxFileBytes}, hipchat, conn)
		if err != nil {
			return row.toAPIError(err)
		}
		if row.success == http.StatusNoContent {
			c.Status(http.StatusNoContent)
			return nil
		}
		c.JSON(row.success, out)
		return nil
	})
}

// toAPIError maps err as every answer is mapped (toAPIError), and names the row's scope in a 403
// whose HipChat message names none, so that the designer learns which scope to select.
func (row actionRoute) toAPIError(err error) *apiError {
	e := toAPIError(err, row.notFound)
	var up *connector.Error
	if e.Code == CodeScopeMissing && row.scope != "" && errors.As(err, &up) && len(scopesIn(up.Message)) == 0 {
		e.Message = describeMissingScopes([]string{row.scope}, up.Message)
	}
	return e
}

// request is what a binder reads an action's input from. It remembers which parameters of the URL
// were read, whose refusals come before the body's (paramsFirst).
type request struct {
	c            *gin.Context
	params       map[string]bool
	maxFileBytes int64 // the server's limit, for the file-upload binder
}

// path returns the path parameter name, trimmed; blank is the action's to refuse.
func (r *request) path(name string) string {
	r.remember(name)
	return strings.TrimSpace(r.c.Param(name))
}

// query returns the query parameter name, trimmed; "" when absent.
func (r *request) query(name string) string {
	r.remember(name)
	return strings.TrimSpace(r.c.Query(name))
}

// queryInt returns the query parameter name as a whole number, nil when absent or blank. Errors:
// 400 invalid_field naming it when it is not a whole number.
func (r *request) queryInt(name string) (*int, error) {
	raw := r.query(name)
	if raw == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return nil, invalidField(name, CodeInvalidField, name+" must be a whole number, such as 75")
	}
	return &n, nil
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
