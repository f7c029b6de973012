package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// jsonBody is a request body read as a JSON object, member by member.
type jsonBody map[string]json.RawMessage

// readJSONObject reads a JSON object body. field names the member the caller needs most, for the
// errors of a body that is no object at all; example is a sample body for their message. Errors:
// 413 body_too_large past the server's body limit, 400 missing_field (naming field) for an empty
// body, 400 invalid_json for a body that is not a JSON object.
func readJSONObject(r *http.Request, field, example string) (jsonBody, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
				Message: "the body is larger than " + strconv.FormatInt(tooLarge.Limit, 10) + " bytes", Cause: err}
		}
		return nil, &apiError{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Field: field,
			Message: "the body could not be read", Cause: err}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, missingField(field)
	}
	var body jsonBody
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Field: field,
			Message: "the body must be a JSON object such as " + example, Cause: err}
	}
	return body, nil
}

// has reports whether member field is present and not null.
func (b jsonBody) has(field string) bool {
	member, ok := b[field]
	return ok && string(member) != "null"
}

// requiredString returns member field as sent (not trimmed). Errors, naming field: 400
// missing_field for a missing, null or blank member, 400 invalid_field for one that is not a string.
func (b jsonBody) requiredString(field string) (string, error) {
	if !b.has(field) {
		return "", missingField(field)
	}
	var value string
	if err := json.Unmarshal(b[field], &value); err != nil {
		return "", invalidField(field, CodeInvalidField, field+" must be a string")
	}
	if strings.TrimSpace(value) == "" {
		return "", missingField(field)
	}
	return value, nil
}

// optionalString returns member field, or "" when it is missing or null. Errors: 400
// invalid_field naming field for one that is not a string.
func (b jsonBody) optionalString(field string) (string, error) {
	if !b.has(field) {
		return "", nil
	}
	var value string
	if err := json.Unmarshal(b[field], &value); err != nil {
		return "", invalidField(field, CodeInvalidField, field+" must be a string")
	}
	return value, nil
}

// optionalNumber returns member field, or 0 when it is missing or null. Errors: 400 invalid_field
// naming field for one that is not a number.
func (b jsonBody) optionalNumber(field string) (float64, error) {
	if !b.has(field) {
		return 0, nil
	}
	var value float64
	if err := json.Unmarshal(b[field], &value); err != nil {
		return 0, invalidField(field, CodeInvalidField, field+" must be a number")
	}
	return value, nil
}

// optionalBool returns member field, or false when it is missing or null. Errors: 400 invalid_field
// naming field for one that is not true or false.
func (b jsonBody) optionalBool(field string) (bool, error) {
	if !b.has(field) {
		return false, nil
	}
	var value bool
	if err := json.Unmarshal(b[field], &value); err != nil {
		return false, invalidField(field, CodeInvalidField, field+" must be true or false")
	}
	return value, nil
}

// presentString returns member field as sent, "" included, or nil when it is missing or null.
// Errors: 400 invalid_field naming field for one that is not a string.
func (b jsonBody) presentString(field string) (*string, error) {
	if !b.has(field) {
		return nil, nil
	}
	var value string
	if err := json.Unmarshal(b[field], &value); err != nil {
		return nil, invalidField(field, CodeInvalidField, field+" must be a string")
	}
	return &value, nil
}

// optionalObject decodes member field, a JSON object, into into and reports whether it was there
// (not missing or null). Members into does not have are refused, so that a misspelt one is not
// silently dropped. Errors: 400 invalid_field naming field (not an object) or field.member (an
// unknown member, or one of the wrong type).
func (b jsonBody) optionalObject(field string, into any) (bool, error) {
	if !b.has(field) {
		return false, nil
	}
	decoder := json.NewDecoder(bytes.NewReader(b[field]))
	decoder.DisallowUnknownFields()
	err := decoder.Decode(into)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return false, invalidField(field, CodeInvalidField, field+" must be an object")
	case errors.As(err, &typeErr):
		name := field + "." + typeErr.Field
		return false, invalidField(name, CodeInvalidField, name+" must be "+jsonKind(typeErr.Type.Kind().String()))
	}
	if unknown, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name := field + "." + strings.Trim(unknown, `"`)
		return false, invalidField(name, CodeInvalidField, name+" is not a member of "+field+" (see the connector definition for its members)")
	}
	return false, invalidField(field, CodeInvalidField, field+" must be an object")
}

// jsonKind names, for people, the JSON kind a Go kind is decoded from.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return "a number"
}

// memberReader reads members of a body one after another and keeps the first error, so that a
// binder reads every member it takes in a row and checks once.
type memberReader struct {
	body jsonBody
	err  error
}

// str is optionalString's value, "" after an error.
func (m *memberReader) str(field string) string {
	if m.err != nil {
		return ""
	}
	v, err := m.body.optionalString(field)
	m.err = err
	return v
}

// boolean is optionalBool's value, false after an error.
func (m *memberReader) boolean(field string) bool {
	if m.err != nil {
		return false
	}
	v, err := m.body.optionalBool(field)
	m.err = err
	return v
}
