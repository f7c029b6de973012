package hipchatsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an answer in HipChat's error shape: {"error":{"code","message","type"}}, plus the
// validation keys (field, validation, value) when the error is about one input field.
type apiError struct {
	status     int
	message    string
	field      string // set for validation errors
	validation string
	value      any
	extra      map[string]any // more keys of the error object (a type error's expected_type)
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.message) }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

// invalid is a 400 about one field, in the shape HipChat used for validation errors (spec §1.4).
func invalid(field, validation string, value any, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, field: field, validation: validation, value: value,
		message: fmt.Sprintf(format, args...)}
}

// missing is HipChat's captured answer for an absent required field; "validation":"optional" is what
// the real server sent (spec §1.4). field may be a dotted path; the message names its last part.
func missing(field string) *apiError {
	return invalid(field, "optional", nil, "Required field '%s' is missing", leaf(field))
}

// Errors with texts taken from the spec.
var (
	errNoToken = errorf(http.StatusUnauthorized,
		"Authenticated requests only. See http://www.hipchat.com/docs/apiv2/auth for more information.")
	errBadToken         = errorf(http.StatusUnauthorized, "Invalid OAuth session")
	errContentType      = errorf(http.StatusBadRequest, "Invalid content type")
	errInvalidJSON      = errorf(http.StatusBadRequest, "The request body cannot be parsed as valid JSON")
	errRateLimited      = errorf(http.StatusTooManyRequests, "Rate Limit exceeded")
	errUsersOnly        = errorf(http.StatusForbidden, "This method is only accessible by users")
	errAddonsOnly       = errorf(http.StatusForbidden, "This method is only accessible by add-ons")
	errPublicMemberList = errorf(http.StatusBadRequest, "Can only list members of private rooms")
	errPublicMemberAdd  = errorf(http.StatusBadRequest, "Can only add members to private rooms")
	errPublicMemberDel  = errorf(http.StatusBadRequest, "Can only remove participants to private rooms")
	errNotFound         = errorf(http.StatusNotFound, "Resource not found")
)

// scopeError is the 403 for a token without any of the scopes, listed as Python printed them.
func scopeError(scopes []string) *apiError {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range scopes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("u'" + s + "'")
	}
	b.WriteByte(']')
	return errorf(http.StatusForbidden, "This action requires one of the following scopes: %s", b.String())
}

// writeError writes e in HipChat's error shape. Anything that is not an *apiError is an emulator bug
// and becomes a 500 without its text.
func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = errorf(http.StatusInternalServerError, "Internal Server Error")
	}
	body := map[string]any{"code": e.status, "message": e.message, "type": http.StatusText(e.status)}
	if e.field != "" {
		body["field"] = e.field
		body["validation"] = e.validation
		body["value"] = e.value
	}
	for k, v := range e.extra {
		body[k] = v
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

// writeJSON writes v as the response body with keys as encoding/json orders them (maps sorted, as
// HipChat's Python server sorted them) and without HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error":{"code":500,"message":"Internal Server Error","type":"Internal Server Error"}}`)
	}
	writeRaw(w, status, b.Bytes())
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away: nothing left to tell it
}

// marshal encodes v without HTML escaping and without the trailing newline.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
