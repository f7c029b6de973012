package hipchatsim

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONBody bounds a JSON request body; HipChat's largest JSON input is a 10,000-character
// notification with a card.
const maxJSONBody = 1 << 20

// fields is a decoded JSON object body. Unknown keys are kept and ignored, as HipChat ignored them
// (hipchat-rb sends room_id with every message).
type fields map[string]json.RawMessage

// readJSON reads r's body as a JSON object. An empty body is an empty object when optional is set
// (PUT member takes no body); otherwise the Content-Type must be application/json.
func readJSON(r *http.Request, optional bool) (fields, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		return nil, errInvalidJSON
	}
	if len(body) > maxJSONBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "Request body too large")
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return fields{}, nil
	}
	if !isJSONType(r.Header.Get("Content-Type")) {
		return nil, errContentType
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return nil, errInvalidJSON
	}
	return f, nil
}

func isJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// has reports whether the key is present and not null.
func (f fields) has(name string) bool {
	v, ok := f[name]
	return ok && string(v) != "null"
}

// str returns the string field name; present is false when it is absent or null. A value that is not
// a string, or whose length in characters is outside [min, max], is a validation error.
func (f fields) str(name string, required bool, min, max int) (s string, present bool, err error) {
	if !f.has(name) {
		if required {
			return "", false, missing(name)
		}
		return "", false, nil
	}
	if err := json.Unmarshal(f[name], &s); err != nil {
		return "", true, invalid(name, "type", json.RawMessage(f[name]), "Field '%s' must be a string", name)
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		return "", true, invalid(name, "length", s, "Field '%s' must be between %d and %d characters", name, min, max)
	}
	return s, true, nil
}

// optional is str for an optional field that clients send as "" when they mean "not given" (HipChat
// accepted "password": "" on user create and update, and clients send whole objects with empty
// strings): "" is reported as absent; any other value must be min–max characters.
func (f fields) optional(name string, min, max int) (string, bool, error) {
	s, present, err := f.str(name, false, 0, max)
	if err != nil || !present || s == "" {
		return "", false, err
	}
	if n := utf8.RuneCountInString(s); n < min {
		return "", true, invalid(name, "length", s, "Field '%s' must be between %d and %d characters", name, min, max)
	}
	return s, true, nil
}

// boolean returns the boolean field name, or def when it is absent.
func (f fields) boolean(name string, def bool) (bool, error) {
	if !f.has(name) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(f[name], &b); err != nil {
		return def, invalid(name, "type", json.RawMessage(f[name]), "Field '%s' must be a boolean", name)
	}
	return b, nil
}

// strings returns the list-of-strings field name (nil when absent).
func (f fields) strings(name string) ([]string, error) {
	if !f.has(name) {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(f[name], &list); err != nil {
		return nil, invalid(name, "type", json.RawMessage(f[name]), "Field '%s' must be a list of strings", name)
	}
	return list, nil
}

// oneOf checks that a present value is one of the allowed ones.
func oneOf(field, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return invalid(field, "choice", value, "Field '%s' must be one of: %s", field, strings.Join(allowed, ", "))
}

// idOrString reads a field that HipChat accepts as a number or a string (owner_user_id, owner.id).
func (f fields) idOrString(name string) (string, bool, error) {
	if !f.has(name) {
		return "", false, nil
	}
	var n json.Number
	if err := json.Unmarshal(f[name], &n); err == nil {
		return n.String(), true, nil
	}
	var s string
	if err := json.Unmarshal(f[name], &s); err == nil && s == "" {
		return "", false, nil // "" means not given, as with other optional strings
	}
	if err := json.Unmarshal(f[name], &s); err != nil {
		return "", true, invalid(name, "type", json.RawMessage(f[name]), "Field '%s' must be an id, email or @mention name", name)
	}
	return s, true, nil
}

// queryInt reads an integer query parameter within [min, max], or def when absent.
func queryInt(q url.Values, name string, def, min, max int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalid(name, "type", v, "Parameter '%s' must be an integer", name)
	}
	if n < min || n > max {
		return 0, invalid(name, "range", n, "Parameter '%s' must be between %d and %d", name, min, max)
	}
	return n, nil
}

// queryBool reads a true/false query parameter, or def when absent.
func queryBool(q url.Values, name string, def bool) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, invalid(name, "type", v, "Parameter '%s' must be true or false", name)
}

// paging reads start-index and max-results (0–1000) for a collection (spec §1.6).
func paging(q url.Values, defaultMax int) (start, max int, err error) {
	if start, err = queryInt(q, "start-index", 0, 0, 1<<31-1); err != nil {
		return 0, 0, err
	}
	if max, err = queryInt(q, "max-results", defaultMax, 0, 1000); err != nil {
		return 0, 0, err
	}
	return start, max, nil
}
