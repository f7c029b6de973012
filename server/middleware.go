package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// observe replaces Gin's access log: one log line and the request metrics per request. Each
// request has an id: the caller's X-Request-Id when it is sane (see validRequestID), a new one
// otherwise, echoed in the answer's X-Request-Id and logged as request_id. It logs the method, route pattern, path (never the query, where auth_token or a trigger's state could travel),
// status, duration (duration_ms, a number of milliseconds, which log queries sum and compare, where
// the JSON log's other durations are text), the connection id and, for an error answer, its code and cause. The Authorization
// header is never read here, and the connection's token is scrubbed from the cause.
func observe(logger *slog.Logger, clock func() time.Time, m *metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := clock()
		requestID := c.GetHeader(headerRequestID)
		if !validRequestID(requestID) {
			requestID = newRequestID()
		}
		c.Header(headerRequestID, requestID)
		c.Next()
		took := clock().Sub(start)

		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		m.observeRequest(route, c.Request.Method, status, took)

		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs,
			slog.String("request_id", requestID),
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.String("path", loggedPath(c, route)),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000),
		)
		conn, hasConn := connectionOf(c)
		if hasConn {
			attrs = append(attrs, slog.String("connection", conn.ID))
		}
		level := slog.LevelInfo
		if last := c.Errors.Last(); last != nil {
			var apiErr *apiError
			if errors.As(last.Err, &apiErr) {
				attrs = append(attrs, slog.String("code", apiErr.Code))
				if apiErr.Cause != nil {
					attrs = append(attrs, slog.String("cause", scrubToken(apiErr.Cause.Error(), conn, hasConn)))
				}
			} else {
				attrs = append(attrs, slog.String("cause", scrubToken(last.Err.Error(), conn, hasConn)))
			}
		}
		if status >= 500 {
			level = slog.LevelWarn
		}
		logger.LogAttrs(c.Request.Context(), level, "request", attrs...)
	}
}

// loggedPath is the request's path as the access log shows it: a doorbell's secret replaced by
// [secret], so that a log reader cannot ring it. Any path under a doorbell's prefix is redacted past
// the feed, whether or not it matched the doorbell route: a GET of a doorbell URL, or one with a
// trailing slash, carries the secret too.
func loggedPath(c *gin.Context, route string) string {
	if route == doorbellRoute {
		return doorbellPrefix + c.Param("feed") + "/[secret]"
	}
	path := c.Request.URL.Path
	if rest, ok := strings.CutPrefix(path, doorbellPrefix); ok {
		if feed, secret, ok := strings.Cut(rest, "/"); ok && secret != "" {
			return doorbellPrefix + feed + "/[secret]"
		}
	}
	return path
}

// doorbellPrefix is what the path of every doorbell URL starts with (doorbellRoute).
const doorbellPrefix = "/hipchat/rooms/"

// scrubToken removes the connection's token from text bound for a log.
func scrubToken(text string, conn connector.Connection, hasConn bool) string {
	if hasConn && conn.Token() != "" {
		return strings.ReplaceAll(text, conn.Token(), "[token]")
	}
	return text
}

// recoverPanics turns a handler's panic into a 500 internal_error; the panic goes to the access log,
// not to the caller. (Gin's own recovery would dump the request headers, Authorization included.)
func recoverPanics() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(c, fmt.Errorf("panic: %v", v))
			}
		}()
		c.Next()
	}
}

// limitBody caps every request body at max bytes, or at the limit routeLimits gives its route
// ("POST /rooms/:roomId/files"); reading past it fails with *http.MaxBytesError, which handlers
// answer 413.
func limitBody(max int64, routeLimits map[string]int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := max
		if l, ok := routeLimits[c.Request.Method+" "+c.FullPath()]; ok {
			limit = l
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}

// headerRequestID carries a request's id in and out.
const headerRequestID = "X-Request-Id"

// maxRequestIDLength bounds a caller's request id (a UUID is 36, a trace id 32).
const maxRequestIDLength = 128

// validRequestID accepts 1 to 128 characters of letters, digits and - _ . : / + = (UUIDs, trace
// ids, base64), so a request id can neither forge log lines nor smuggle a token-sized blob.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-_.:/+=", r):
		default:
			return false
		}
	}
	return true
}

// newRequestID is 16 random bytes in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
