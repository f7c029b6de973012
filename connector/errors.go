package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Kind classifies an upstream failure. Each kind maps to one HTTP status of the connector's own API.
type Kind string

// The error vocabulary of upstream calls.
const (
	// KindTokenRejected: HipChat answered 401 (unknown, expired or missing token).
	KindTokenRejected Kind = "token_rejected"
	// KindScopeMissing: HipChat answered 403 (the token lacks a scope the call needs).
	KindScopeMissing Kind = "scope_missing"
	// KindNotFound: HipChat answered 404 (unknown room or user).
	KindNotFound Kind = "not_found"
	// KindBadRequest: HipChat answered 400; Message keeps HipChat's own text.
	KindBadRequest Kind = "bad_request"
	// KindRateLimited: HipChat answered 429, or the connection's own budget is spent. RetryAfter says when
	// to try again.
	KindRateLimited Kind = "rate_limited"
	// KindUnavailable: HipChat answered 5xx, timed out, or could not be reached.
	KindUnavailable Kind = "upstream_unavailable"
)

// Error is an upstream failure in the connector's vocabulary. Message is safe to show to the caller;
// Cause (transport errors and the like) is for logs only.
type Error struct {
	Kind       Kind
	Status     int           // HipChat's HTTP status; 0 when no answer came (timeout, refused, own budget)
	Message    string        // HipChat's error message, or a short description of what happened
	RetryAfter time.Duration // with KindRateLimited: how long until a call can succeed
	Local      bool          // with KindRateLimited: no upstream call was made (the limiter held it back)
	Budget     Budget        // with KindRateLimited: whose budget is spent (the connector's or HipChat's); "" for flood control
	Cause      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("hipchat %s", e.Kind)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Cause }

// TimedOut reports whether no answer came in time: the call's deadline passed, or the network
// timed out (HipChat too slow, not failing).
func (e *Error) TimedOut() bool { return isTimeout(e.Cause) }

// isTimeout reports whether err is a deadline exceeded or a network timeout.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
}

// KindOf returns the Kind of err when it is (or wraps) an *Error, and "" otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// kindForStatus maps a HipChat error status to the vocabulary.
func kindForStatus(status int) Kind {
	switch {
	case status == 401:
		return KindTokenRejected
	case status == 403:
		return KindScopeMissing
	case status == 404:
		return KindNotFound
	case status == 429:
		return KindRateLimited
	case status >= 500:
		return KindUnavailable
	default:
		return KindBadRequest
	}
}
