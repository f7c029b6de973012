// The one error vocabulary of the connector's HTTP API (stable codes, safe messages, the field at
// fault), the one mapping from domain and upstream errors to it (toAPIError), and the one function
// that writes every error answer (writeError).

package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
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
	CodeInvalidJSON      = "invalid_json"         // 400: the body is not the JSON object the operation takes
	CodeBodyTooLarge     = "body_too_large"       // 413: the body exceeds the connector's limit
	CodeBadRequest       = "bad_request"          // 400: HipChat refused the request; its message is kept
	CodeRateLimited      = "rate_limited"         // 429: the connection's budget is spent, or HipChat throttles
	CodeUpstreamFailed   = "upstream_unavailable" // 502: HipChat failed or could not be reached
	CodeUpstreamTimeout  = "upstream_timeout"     // 504: HipChat did not answer in time
	CodeCanceled         = "request_canceled"     // 499: the caller went away before the answer
	CodeInternal         = "internal_error"       // 500: a fault of the connector itself
	CodeNotReady         = "not_ready"            // 503: the connector is starting or shutting down
	CodeNotSupported     = "not_supported"        // 501: the store cannot do it (a backup of an etcd store)

	CodeInvalidState         = "invalid_state"          // 400: a polling state that is not this connection's state of this trigger and room
	CodeSubscriptionNotFound = "subscription_not_found" // 404: no such subscription for this connection
	CodeDeliveryNotFound     = "delivery_not_found"     // 404: no such delivery of the subscription
	CodeSubscriptionInactive = "subscription_inactive"  // 409: the subscription is paused or disabled
	CodeDeliveryPending      = "delivery_pending"       // 409: the delivery is still waiting to be sent
	CodeBacklogFull          = "backlog_full"           // 409: the subscription's pending deliveries are at the outbox's bound
	CodeTooManySubscriptions = "too_many_subscriptions" // 409: the connection holds -max-subscriptions-per-connection

	CodeAdminTokenRejected = "admin_token_rejected" // 401: an operator route without the operator credential
	CodeOperatorCredential = "operator_credential"  // 401: the operator credential sent as a HipChat token
)

// Codes of an input an action refused (400), spelled once in package actions.
const (
	CodeMissingField = actions.CodeMissingField // a required parameter is missing or blank
	CodeInvalidField = actions.CodeInvalidField // a parameter has a value that cannot be right
	CodeFieldTooLong = actions.CodeFieldTooLong // a parameter is longer than HipChat accepts
)

// statusClientClosedRequest is nginx's status for a caller that hung up; nobody reads the answer, but
// logs and metrics keep it apart from real failures.
const statusClientClosedRequest = 499

// apiError is an error answer of the connector's HTTP API. Message and Field are shown to the caller;
// Cause is for the logs only.
type apiError struct {
	Status     int
	Code       string
	Message    string
	Field      string        // the parameter at fault (roomId, userId, message, callbackUrl, state), if one is
	RetryAfter time.Duration // sent as Retry-After (whole seconds, rounded up) when positive
	Cause      error
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

func (e *apiError) Unwrap() error { return e.Cause }

// missingField is the 400 answer for a required parameter that is absent or blank, in the words of
// an action's refusal.
func missingField(field string) *apiError {
	return invalidInput(actions.MissingField(field))
}

// invalidInput is the 400 answer for an input an action refused.
func invalidInput(e *actions.InvalidInput) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: e.Code, Field: e.Field, Message: e.Message}
}

// invalidField is the 400 answer for a parameter whose value cannot be right; message says why.
func invalidField(field, code, message string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Field: field, Message: message}
}

// filterRefused is the 400 answer for a trigger's filter parameter refused (triggers.InvalidFilter).
func filterRefused(e *triggers.InvalidFilter) *apiError {
	code := CodeInvalidField
	if e.TooLong {
		code = CodeFieldTooLong
	}
	return &apiError{Status: http.StatusBadRequest, Code: code, Field: e.Field, Message: e.Message, Cause: e}
}

// notFoundSubject says which parameter a HipChat 404 is about, so the answer can name it.
type notFoundSubject int

const (
	// subjectUnknown: the operation names nothing in particular (code not_found).
	subjectUnknown notFoundSubject = iota
	// subjectRoom: only a room is named (code room_not_found, field roomId).
	subjectRoom
	// subjectUser: only a user is named (code user_not_found, field userId).
	subjectUser
	// subjectRoomOrUser: both are named; HipChat's message tells which one it did not find.
	subjectRoomOrUser
	// subjectSubscription: the operation names a subscription (a store's ErrNotFound is
	// subscription_not_found).
	subjectSubscription
	// subjectDelivery: the operation names a delivery of a subscription (ErrNotFound is
	// delivery_not_found).
	subjectDelivery
)

// pollStateErrors are the refusals of a polling trigger's state; each is 400 invalid_state.
var pollStateErrors = []error{triggers.ErrStateMalformed, triggers.ErrStateForged, triggers.ErrStateVersion,
	triggers.ErrStateConnection, triggers.ErrStateTarget, triggers.ErrStateFilter}

// fromDomain maps the errors of the domain packages (an action's input refused, a polling state
// refused, a callback URL refused, a store's not-found or already-pending) to their answers; nil for
// any other error.
func fromDomain(err error, subject notFoundSubject) *apiError {
	var invalid *actions.InvalidInput
	if errors.As(err, &invalid) {
		return invalidInput(invalid)
	}
	var refusedFilter *triggers.InvalidFilter
	if errors.As(err, &refusedFilter) {
		return filterRefused(refusedFilter)
	}
	for _, stateErr := range pollStateErrors {
		if errors.Is(err, stateErr) {
			return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidState, Field: "state",
				Message: stateErr.Error() + "; start over by polling without state", Cause: err}
		}
	}
	switch {
	case errors.Is(err, webhook.ErrCallbackURL):
		msg := "callbackUrl refused: " + webhook.Reason(err)
		switch {
		case errors.Is(err, webhook.ErrPrivateAddress):
			// Only ever from a connector without the flag, and the one refusal it would lift.
			msg += "; only public addresses are allowed (for a development receiver, start the connector with -allow-private-callbacks)"
		case errors.Is(err, webhook.ErrBlockedAddress):
			msg += "; callbacks go to public addresses only"
		}
		return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidField, Field: "callbackUrl", Message: msg, Cause: err}
	case errors.Is(err, state.ErrUnsupported):
		return &apiError{Status: http.StatusNotImplemented, Code: CodeNotSupported,
			Message: strings.TrimPrefix(err.Error(), state.ErrUnsupported.Error()+": "), Cause: err}
	case errors.Is(err, state.ErrAlreadyPending):
		return &apiError{Status: http.StatusConflict, Code: CodeDeliveryPending, Field: "deliveryId",
			Message: "the delivery is still pending; its next attempt is on its way", Cause: err}
	case errors.Is(err, state.ErrNotFound) && subject == subjectDelivery:
		return &apiError{Status: http.StatusNotFound, Code: CodeDeliveryNotFound, Field: "deliveryId",
			Message: "no such delivery for this subscription", Cause: err}
	case errors.Is(err, state.ErrNotFound):
		e := subscriptionNotFound()
		e.Cause = err
		return e
	}
	return nil
}

// toAPIError is the one mapping of an error to the answer of the connector's API: an *apiError is
// kept, the domain's errors map as fromDomain says, the connector's upstream vocabulary maps to
// status and code (HipChat's 400 message is kept), and anything else (a bug, a cancelled request)
// gets a generic answer. subject names the parameter of a 404.
func toAPIError(err error, subject notFoundSubject) *apiError {
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	if e := fromDomain(err, subject); e != nil {
		return e
	}
	var up *connector.Error
	if !errors.As(err, &up) {
		switch {
		case errors.Is(err, context.Canceled):
			return &apiError{Status: statusClientClosedRequest, Code: CodeCanceled, Message: "the request was cancelled", Cause: err}
		case errors.Is(err, context.DeadlineExceeded):
			return &apiError{Status: http.StatusGatewayTimeout, Code: CodeUpstreamTimeout, Message: "HipChat did not answer in time", Cause: err}
		}
		return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "the connector failed; the cause is in its log", Cause: err}
	}
	e := &apiError{Cause: err}
	switch up.Kind {
	case connector.KindTokenRejected:
		e.Status, e.Code, e.Message = http.StatusUnauthorized, CodeTokenRejected, "HipChat rejected the token; check the connection's personal access token"
	case connector.KindScopeMissing:
		e.Status, e.Code, e.Message = http.StatusForbidden, CodeScopeMissing, scopeMissingMessage(up.Message)
	case connector.KindNotFound:
		e.Status = http.StatusNotFound
		e.Code, e.Field = notFoundCode(subject, up.Message)
		e.Message = "HipChat: " + safeUpstreamText(up.Message, "not found")
	case connector.KindBadRequest:
		e.Status, e.Code = http.StatusBadRequest, CodeBadRequest
		e.Message = "HipChat: " + safeUpstreamText(up.Message, "bad request")
	case connector.KindRateLimited:
		e.Status, e.Code, e.RetryAfter = http.StatusTooManyRequests, CodeRateLimited, up.RetryAfter
		e.Message = rateLimitedMessage(up)
	case connector.KindUnavailable:
		if up.TimedOut() {
			e.Status, e.Code, e.Message = http.StatusGatewayTimeout, CodeUpstreamTimeout, "HipChat did not answer in time"
		} else {
			e.Status, e.Code, e.Message = http.StatusBadGateway, CodeUpstreamFailed, "HipChat failed or could not be reached"
		}
	default:
		e.Status, e.Code, e.Message = http.StatusBadGateway, CodeUpstreamFailed, "HipChat answered in a way the connector does not understand"
	}
	return e
}

// rateLimitedMessage says whose budget is spent, the connector's or HipChat's, so that the
// caller knows what Retry-After waits for.
func rateLimitedMessage(up *connector.Error) string {
	const retry = "; retry after Retry-After seconds"
	switch {
	case up.Local && up.Message != "":
		return up.Message + retry // the limiter said whose budget (connector.Client.overBudget)
	case up.Local && up.Budget == connector.BudgetHipChat:
		return "HipChat's own rate limit for this token is spent; the connector holds calls back until HipChat's reset" + retry
	case up.Local:
		return "this connection has used the connector's budget of HipChat calls" + retry
	case up.Budget == connector.BudgetFloodControl:
		return "HipChat's flood control holds back messages to this room from this sender (HipChat answered 429)" + retry
	default:
		return "HipChat is throttling this token: HipChat's own rate limit is spent (HipChat answered 429)" + retry
	}
}

// scopePattern finds the scope names in HipChat's 403 message: "This action requires one of the
// following scopes: [u'view_room']" (HipChat's Python repr, as the emulator says it too).
var scopePattern = regexp.MustCompile(`'([a-z_]+)'`)

// scopeMissingMessage names the scope HipChat asked for, from its 403 message.
func scopeMissingMessage(hipchatMessage string) string {
	return describeMissingScopes(scopesIn(hipchatMessage), hipchatMessage)
}

// scopesIn returns the scope names HipChat's 403 message lists.
func scopesIn(hipchatMessage string) []string {
	var scopes []string
	for _, m := range scopePattern.FindAllStringSubmatch(hipchatMessage, -1) {
		scopes = append(scopes, m[1])
	}
	return scopes
}

// describeMissingScopes says which scopes a call needs; without any, it quotes HipChat's message.
func describeMissingScopes(scopes []string, hipchatMessage string) string {
	switch len(scopes) {
	case 0:
		return "the token lacks a scope HipChat requires for this call (HipChat: " + safeUpstreamText(hipchatMessage, "forbidden") +
			"); generate it with all scopes selected"
	case 1:
		return "the token lacks the HipChat scope " + scopes[0] + ", which this call requires; generate a token with it (or with all scopes selected)"
	}
	return "the token lacks a HipChat scope this call requires, one of " + strings.Join(scopes, ", ") +
		"; generate a token with it (or with all scopes selected)"
}

// notFoundCode picks the code and field of a HipChat 404.
func notFoundCode(subject notFoundSubject, hipchatMessage string) (code, field string) {
	switch subject {
	case subjectRoom:
		return CodeRoomNotFound, paramRoomID
	case subjectUser:
		return CodeUserNotFound, paramUserID
	case subjectRoomOrUser:
		// HipChat says "User <ref> not found" or "Room <ref> not found"; the ref may contain either word.
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(hipchatMessage)), "user") {
			return CodeUserNotFound, paramUserID
		}
		return CodeRoomNotFound, paramRoomID
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

// writeError is the one function that writes an error answer. err is an *apiError, a *connector.Error
// (mapped with toAPIError, its 404 naming nothing in particular: call
// toAPIError first to name the subject) or anything else (a 500 that says
// nothing of the cause). The cause goes to the request's errors (c.Errors), which the access log
// writes; the caller never sees it. The connection's token is scrubbed from the message as a last
// line of defence. WriteError aborts the handler chain.
func writeError(c *gin.Context, err error) {
	e := toAPIError(err, subjectUnknown)
	_ = c.Error(e) // for the access log: code and cause
	message := e.Message
	if conn, ok := connectionOf(c); ok && conn.Token() != "" {
		message = strings.ReplaceAll(message, conn.Token(), "[token]")
	}
	if e.RetryAfter > 0 || e.Status == http.StatusTooManyRequests {
		c.Header("Retry-After", retryAfterSeconds(e.RetryAfter))
	}
	c.AbortWithStatusJSON(e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: message, Field: e.Field}})
}

// retryAfterSeconds renders d as a Retry-After value: whole seconds, rounded up, at least 1, so a
// client that obeys it never comes back before the budget allows.
func retryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
