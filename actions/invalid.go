package actions

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Field names an *InvalidInput uses: the parameter names of the connector definition.
const (
	FieldRoomID  = "roomId"
	FieldUserID  = "userId"
	FieldMessage = "message"
)

// Codes of an *InvalidInput. They are the stable codes of the connector's error answers, which flows
// may branch on, so they are never renamed.
const (
	CodeMissingField = "missing_field"  // a required parameter is missing or blank
	CodeInvalidField = "invalid_field"  // a parameter has a value that cannot be right
	CodeFieldTooLong = "field_too_long" // a parameter is longer than HipChat accepts
)

// InvalidInput is an action's refusal of its input, made before any HipChat call.
type InvalidInput struct {
	Field   string // the parameter at fault, as the connector definition names it
	Code    string // CodeMissingField, CodeInvalidField or CodeFieldTooLong
	Message string // what is wrong, safe to show the caller
}

func (e *InvalidInput) Error() string { return e.Code + " " + e.Field + ": " + e.Message }

// MissingField is the refusal of a required parameter that is absent or blank.
func MissingField(field string) *InvalidInput {
	return &InvalidInput{Field: field, Code: CodeMissingField, Message: field + " is required and must not be blank"}
}

// required refuses a value that is empty or only blanks.
func required(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return MissingField(field)
	}
	return nil
}

// MaxReferenceChars bounds a room or user reference: an email, the longest a reference can be, is
// at most 254 characters (a room name at most 50). A longer one names nothing HipChat has, and
// would only be copied into the store and the log.
const MaxReferenceChars = 254

// CheckReference refuses a room or user reference (an id, a name, an email or an @mention) that is
// missing, longer than MaxReferenceChars, or "." or "..": HipChat's URLs take a reference as a
// path segment, and a server or proxy in front of HipChat may resolve those as dot segments,
// whatever their escaping (user ".." of RemoveUserFromRoom would be the room itself). No HipChat
// room or user is addressed so. Errors: *InvalidInput naming field.
func CheckReference(field, value string) error {
	if err := required(field, value); err != nil {
		return err
	}
	if err := atMostChars(field, value, MaxReferenceChars); err != nil {
		return err
	}
	if trimmed := strings.TrimSpace(value); trimmed == "." || trimmed == ".." {
		return invalid(field, field+" "+trimmed+" names no room or user: give an id, a name, an email or an @mention")
	}
	return nil
}

// reference is CheckReference, in a Validate's list.
func reference(field, value string) error { return CheckReference(field, value) }

// atMostChars refuses a value of more than limit characters (runes, as HipChat counts them).
func atMostChars(field, value string, limit int) error {
	if n := utf8.RuneCountInString(value); n > limit {
		return &InvalidInput{Field: field, Code: CodeFieldTooLong,
			Message: field + " is " + strconv.Itoa(n) + " characters long; HipChat takes at most " + strconv.Itoa(limit)}
	}
	return nil
}

// firstRefusal returns the first non-nil of checks, which a Validate lists in the order of its fields.
func firstRefusal(checks ...error) error {
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// invalid is the refusal of a value that cannot be right (invalid_field).
func invalid(field, message string) *InvalidInput {
	return &InvalidInput{Field: field, Code: CodeInvalidField, Message: message}
}

// oneOf refuses a value that is not one of allowed; "" is left to required.
func oneOf(field, value string, allowed ...string) error {
	if value == "" {
		return nil
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return invalid(field, field+" is "+strconv.Quote(value)+"; it must be one of "+strings.Join(allowed, ", "))
}

// maxURLLength bounds every URL an action takes (links, card URLs), as HipChat bounded share/link.
const maxURLLength = 2048

// absoluteURL refuses a value that is not an absolute http or https URL of at most maxURLLength
// characters; "" is left to required.
func absoluteURL(field, value string) error {
	if value == "" {
		return nil
	}
	if err := atMostChars(field, value, maxURLLength); err != nil {
		return err
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(field, field+" must be an absolute http or https URL, such as https://example.com/page")
	}
	return nil
}

// inRange refuses a number outside lo..hi.
func inRange(field string, value, lo, hi int) error {
	if value < lo || value > hi {
		return invalid(field, field+" is "+strconv.Itoa(value)+"; it must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
	}
	return nil
}
