// Package httpapi owns the conventions every handler of the connector's HTTP API shares: the one error
// vocabulary (stable codes, safe messages, the field at fault), the one function that writes every
// error answer, and the connection that the auth middleware puts into each request.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Codes of the error vocabulary: the stable, machine-readable "code" of an error answer. Flows may
// branch on them, so they are never renamed.
const (
	CodeMissingToken     = "missing_token"        // 401: no token in Authorization
	CodeTokenRejected    = "token_rejected"       // 401: HipChat rejected the token
	CodeScopeMissing     = "scope_missing"        // 403: the token lacks a scope HipChat requires
	CodeRoomNotFound     = "room_not_found"       // 404: HipChat knows no such room
	CodeUserNotFound     = "user_not_found"       // 404: HipChat knows no such user
	CodeNotFound         = "not_found"            // 404: HipChat answered 404 for something else
	CodeRouteNotFound    = "route_not_found"      // 404: no operation at this path
	CodeMethodNotAllowed = "method_not_allowed"   // 405: the path exists, the method does not
	CodeMissingField     = "missing_field"        // 400: a required parameter is missing or blank
	CodeInvalidField     = "invalid_field"        // 400: a parameter has a value that cannot be right
	CodeFieldTooLong     = "field_too_long"       // 400: a parameter is longer than HipChat accepts
	CodeInvalidJSON      = "invalid_json"         // 400: the body is not the JSON object the operation takes
	CodeBodyTooLarge     = "body_too_large"       // 413: the body exceeds the connector's limit
	CodeBadRequest       = "bad_request"          // 400: HipChat refused the request; its message is kept
	CodeRateLimited      = "rate_limited"         // 429: the connection's budget is spent, or HipChat throttles
	CodeUpstreamFailed   = "upstream_unavailable" // 502: HipChat failed or could not be reached
	CodeUpstreamTimeout  = "upstream_timeout"     // 504: HipChat did not answer in time
	CodeCanceled         = "request_canceled"     // 499: the caller went away before the answer
	CodeInternal         = "internal_error"       // 500: a fault of the connector itself
	CodeNotReady         = "not_ready"            // 503: the connector is starting or shutting down
)

// statusClientClosedRequest is nginx's status for a caller that hung up; nobody reads the answer, but
// logs and metrics keep it apart from real failures.
const statusClientClosedRequest = 499

// Error is an error answer of the connector's HTTP API. Message and Field are shown to the caller;
// Cause is for the logs only.
type Error struct {
	Status     int
	Code       string
	Message    string
	Field      string        // the parameter at fault (roomId, userId, message, callbackUrl, state), if one is
	RetryAfter time.Duration // sent as Retry-After (whole seconds, rounded up) when positive
	Cause      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Cause }

// MissingField is the 400 answer for a required parameter that is absent or blank.
func MissingField(field string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeMissingField, Field: field,
		Message: field + " is required and must not be blank"}
}

// InvalidField is the 400 answer for a parameter whose value cannot be right; message says why.
func InvalidField(field, code, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Field: field, Message: message}
}

// NotFoundSubject says which parameter a HipChat 404 is about, so the answer can name it.
type NotFoundSubject int

const (
	// SubjectUnknown: the operation names nothing in particular (code not_found).
	SubjectUnknown NotFoundSubject = iota
	// SubjectRoom: only a room is named (code room_not_found, field roomId).
	SubjectRoom
	// SubjectUser: only a user is named (code user_not_found, field userId).
	SubjectUser
	// SubjectRoomOrUser: both are named; HipChat's message tells which one it did not find.
	SubjectRoomOrUser
)

// FromUpstream turns an error of a HipChat call into the answer of the connector's API: the
// connector's error vocabulary maps to status and code, HipChat's 400 message is kept, and anything
// else (a bug, a cancelled request) gets a generic answer. subject names the parameter of a 404.
func FromUpstream(err error, subject NotFoundSubject) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var up *connector.Error
	if !errors.As(err, &up) {
		switch {
		case errors.Is(err, context.Canceled):
			return &Error{Status: statusClientClosedRequest, Code: CodeCanceled, Message: "the request was cancelled", Cause: err}
		case errors.Is(err, context.DeadlineExceeded):
			return &Error{Status: http.StatusGatewayTimeout, Code: CodeUpstreamTimeout, Message: "HipChat did not answer in time", Cause: err}
		}
		return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "the connector failed; the cause is in its log", Cause: err}
	}
	e := &Error{Cause: err}
	switch up.Kind {
	case connector.KindTokenRejected:
		e.Status, e.Code, e.Message = http.StatusUnauthorized, CodeTokenRejected, "HipChat rejected the token; check the connection's personal access token"
	case connector.KindScopeMissing:
		e.Status, e.Code, e.Message = http.StatusForbidden, CodeScopeMissing, "the token lacks a scope HipChat requires for this call; generate it with all scopes selected"
	case connector.KindNotFound:
		e.Status = http.StatusNotFound
		e.Code, e.Field = notFoundCode(subject, up.Message)
		e.Message = "HipChat: " + safeUpstreamText(up.Message, "not found")
	case connector.KindBadRequest:
		e.Status, e.Code = http.StatusBadRequest, CodeBadRequest
		e.Message = "HipChat: " + safeUpstreamText(up.Message, "bad request")
	case connector.KindRateLimited:
		e.Status, e.Code, e.RetryAfter = http.StatusTooManyRequests, CodeRateLimited, up.RetryAfter
		if up.Local {
			e.Message = "this connection has used its budget of 100 HipChat calls in 60 seconds; retry after Retry-After seconds"
		} else {
			e.Message = "HipChat is throttling this token; retry after Retry-After seconds"
		}
	case connector.KindUnavailable:
		if isTimeout(up) {
			e.Status, e.Code, e.Message = http.StatusGatewayTimeout, CodeUpstreamTimeout, "HipChat did not answer in time"
		} else {
			e.Status, e.Code, e.Message = http.StatusBadGateway, CodeUpstreamFailed, "HipChat failed or could not be reached"
		}
	default:
		e.Status, e.Code, e.Message = http.StatusBadGateway, CodeUpstreamFailed, "HipChat answered in a way the connector does not understand"
	}
	return e
}

func isTimeout(up *connector.Error) bool {
	if errors.Is(up.Cause, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(up.Cause, &netErr) && netErr.Timeout()
}

// notFoundCode picks the code and field of a HipChat 404.
func notFoundCode(subject NotFoundSubject, hipchatMessage string) (code, field string) {
	switch subject {
	case SubjectRoom:
		return CodeRoomNotFound, "roomId"
	case SubjectUser:
		return CodeUserNotFound, "userId"
	case SubjectRoomOrUser:
		// HipChat says "User <ref> not found" or "Room <ref> not found"; the ref may contain either word.
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(hipchatMessage)), "user") {
			return CodeUserNotFound, "userId"
		}
		return CodeRoomNotFound, "roomId"
	}
	return CodeNotFound, ""
}

// safeUpstreamText keeps HipChat's own short message (it tells the designer what HipChat disliked) and
// falls back to fallback for an empty or implausibly long one.
func safeUpstreamText(message, fallback string) string {
	message = strings.TrimSpace(message)
	if message == "" || len(message) > 500 {
		return fallback
	}
	return message
}

// errorBody is the JSON of every error answer: {"error":{"code":…,"message":…,"field":…}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// WriteError is the one function that writes an error answer. err is an *Error, a *connector.Error
// (mapped with FromUpstream, its 404 naming nothing in particular: call
// FromUpstream first to name the subject) or anything else (a 500 that says
// nothing of the cause). The cause goes to the request's errors (c.Errors), which the access log
// writes; the caller never sees it. The connection's token is scrubbed from the message as a last
// line of defence. WriteError aborts the handler chain.
func WriteError(c *gin.Context, err error) {
	e := FromUpstream(err, SubjectUnknown)
	_ = c.Error(e) // for the access log: code and cause
	message := e.Message
	if conn, ok := Connection(c); ok && conn.Token() != "" {
		message = strings.ReplaceAll(message, conn.Token(), "[token]")
	}
	if e.RetryAfter > 0 || e.Status == http.StatusTooManyRequests {
		c.Header("Retry-After", RetryAfterSeconds(e.RetryAfter))
	}
	c.AbortWithStatusJSON(e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: message, Field: e.Field}})
}

// RetryAfterSeconds renders d as a Retry-After value: whole seconds, rounded up, at least 1, so a
// client that obeys it never comes back before the budget allows.
func RetryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
