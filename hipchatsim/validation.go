package hipchatsim

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HipChat validated request bodies with a JSON-schema validator written in Python, and its 400s
// name the field, the validator that refused it and the value. Two texts are captured: a missing
// field, "Required field 'message' is missing" with "validation": "optional" (spec §1.4), and a
// wrong type, "Value u'true' for field 'notify' is not of type 'boolean'" with "validation": "type"
// and "expected_type": "boolean" (jenkinsci/hipchat-plugin#39, 2015; the 2017 card capture in
// card.go adds "description": "Value {value!r} is not of type {expected_type!r}"). The texts for a
// value outside an enumeration or a length range are not captured: they follow the same validator's
// pattern ([INFERRED]), "Value u'pink' for field 'color' is not in the enumeration: ['yellow', …]"
// ("validation": "enum") and "Length of value u'' for field 'message' must be greater than or
// equal to 1" ("validation": "minLength", or "maxLength" with "less than or equal to").

// typeDescription is the description HipChat's type errors carried (the card capture).
const typeDescription = "Value {value!r} is not of type {expected_type!r}"

// leaf is the last name of a dotted path ("glance[0].content.label" → "label"): HipChat's messages
// name the field itself, the error's "field" the whole path.
func leaf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// typeError is the 400 for a value of the wrong type at path; expected is the JSON type's name or,
// for a union, its schemas (card.go).
func typeError(path string, raw json.RawMessage, expected any) *apiError {
	decoded, _ := decodeOrdered(raw)
	e := invalid(path, "type", jsonValue(raw), "Value %s for field '%s' is not of type %s",
		pyRepr(decoded), leaf(path), pyReprStr(expectedRepr(expected)))
	e.extra = map[string]any{"expected_type": expectedJSON(expected), "description": typeDescription}
	return e
}

// expectedJSON turns an expected type for the error's expected_type: union members as schemas.
func expectedJSON(expected any) any {
	list, ok := expected.([]*schema)
	if !ok {
		return expected
	}
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s.toJSON()
	}
	return out
}

// expectedRepr turns an expected type for printing: union members are printed as schema dicts.
func expectedRepr(expected any) any {
	list, ok := expected.([]*schema)
	if !ok {
		return expected
	}
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s.toRepr()
	}
	return out
}

// enumError is the 400 for a value outside options ([INFERRED] text, see above).
func enumError(path, value string, options []string) *apiError {
	return invalid(path, "enum", value, "Value %s for field '%s' is not in the enumeration: %s",
		pyRepr(value), leaf(path), pyReprStr(options))
}

// lengthError is the 400 for a value (a string, or a list) of length n outside [min, max]
// ([INFERRED] text).
func lengthError(path string, value any, n, min, max int) *apiError {
	if n < min {
		return invalid(path, "minLength", value, "Length of value %s for field '%s' must be greater than or equal to %d",
			pyRepr(value), leaf(path), min)
	}
	return invalid(path, "maxLength", value, "Length of value %s for field '%s' must be less than or equal to %d",
		pyRepr(value), leaf(path), max)
}

// jsonValue is raw decoded for an error's "value" (objects print with sorted keys, as HipChat's
// did).
func jsonValue(raw json.RawMessage) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

// checker reads the fields of one JSON object of a request body, at a path ("" for the body), with
// HipChat's validation texts.
type checker struct {
	f  fields
	at string
}

func check(f fields) checker { return checker{f: f} }

// path is the dotted path of the field name.
func (c checker) path(name string) string {
	if c.at == "" {
		return name
	}
	return c.at + "." + name
}

// str reads the string field name: missing (when required), a type error, or a length error for
// fewer than min or more than max characters (max < 0: no bound). present is false when the field
// is absent or null.
func (c checker) str(name string, required bool, min, max int) (value string, present bool, err error) {
	if !c.f.has(name) {
		if required {
			return "", false, missing(c.path(name))
		}
		return "", false, nil
	}
	if err := json.Unmarshal(c.f[name], &value); err != nil {
		return "", true, typeError(c.path(name), c.f[name], "string")
	}
	if n := utf8.RuneCountInString(value); n < min || (max >= 0 && n > max) {
		return "", true, lengthError(c.path(name), value, n, min, max)
	}
	return value, true, nil
}

// choice reads a string field that must be one of options. When def is not "", the field is
// optional and absent, null or "" (clients send "" for "not given", and the emulator has always
// taken it so) mean def; when def is "", the field is required.
func (c checker) choice(name, def string, options ...string) (string, error) {
	value, present, err := c.str(name, def == "", 0, -1)
	if err != nil {
		return "", err
	}
	if !present || value == "" {
		if def == "" {
			return "", enumError(c.path(name), value, options)
		}
		return def, nil
	}
	if !slices.Contains(options, value) {
		return "", enumError(c.path(name), value, options)
	}
	return value, nil
}

// boolean reads an optional boolean field, def when absent; "true" (a string) is a type error, as
// HipChat's captured answer shows.
func (c checker) boolean(name string, def bool) (bool, error) {
	if !c.f.has(name) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(c.f[name], &b); err != nil {
		return def, typeError(c.path(name), c.f[name], "boolean")
	}
	return b, nil
}

// object reads the object field name as a checker of its own; present is false when it is absent
// or null (missing when required).
func (c checker) object(name string, required bool) (sub checker, present bool, err error) {
	if !c.f.has(name) {
		if required {
			return checker{}, false, missing(c.path(name))
		}
		return checker{}, false, nil
	}
	var f fields
	if err := json.Unmarshal(c.f[name], &f); err != nil || f == nil {
		return checker{}, true, typeError(c.path(name), c.f[name], "object")
	}
	return checker{f: f, at: c.path(name)}, true, nil
}

// list reads the required array field name, of at least min items, and returns its items.
func (c checker) list(name string, min int) ([]json.RawMessage, error) {
	if !c.f.has(name) {
		return nil, missing(c.path(name))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(c.f[name], &items); err != nil {
		return nil, typeError(c.path(name), c.f[name], "array")
	}
	if len(items) < min {
		return nil, lengthError(c.path(name), []any{}, len(items), min, -1)
	}
	return items, nil
}

// item reads the i-th item of the list name, which must be an object, as a checker.
func (c checker) item(name string, i int, raw json.RawMessage) (checker, error) {
	at := c.path(name) + "[" + strconv.Itoa(i) + "]"
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return checker{}, typeError(at, raw, "object")
	}
	return checker{f: f, at: at}, nil
}
