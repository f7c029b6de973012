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

// readStringField reads a JSON object body and returns its string member field as sent (not
// trimmed); other members are ignored. example is a sample body for the error message. Errors, each
// naming field: 413 body_too_large past the server's body limit, 400 missing_field for an empty body
// or a missing, null or blank member, 400 invalid_field for a member that is not a string, 400
// invalid_json for a body that is not a JSON object.
func readStringField(r *http.Request, field, example string) (string, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
				Message: "the body is larger than " + strconv.FormatInt(tooLarge.Limit, 10) + " bytes", Cause: err}
		}
		return "", &apiError{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Field: field,
			Message: "the body could not be read", Cause: err}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", missingField(field)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return "", &apiError{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Field: field,
			Message: "the body must be a JSON object such as " + example, Cause: err}
	}
	member, ok := body[field]
	if !ok || string(member) == "null" {
		return "", missingField(field)
	}
	var value string
	if err := json.Unmarshal(member, &value); err != nil {
		return "", invalidField(field, CodeInvalidField, field+" must be a string")
	}
	if strings.TrimSpace(value) == "" {
		return "", missingField(field)
	}
	return value, nil
}
