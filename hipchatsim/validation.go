package hipchatsim

import (
	"encoding/json"
	"slices"
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

// typeError is the 400 for a value of the wrong type; expected is the JSON type's name or, for a
// union, the list HipChat printed (schema.typeJSON).
func typeError(field string, raw json.RawMessage, expected any) *apiError {
	decoded, _ := decodeOrdered(raw)
	e := invalid(field, "type", jsonValue(raw), "Value %s for field '%s' is not of type %s",
		pyRepr(decoded), field, pyReprStr(expectedRepr(expected)))
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
func enumError(field, value string, options []string) *apiError {
	return invalid(field, "enum", value, "Value %s for field '%s' is not in the enumeration: %s",
		pyRepr(value), field, pyReprStr(options))
}

// lengthError is the 400 for a string of n characters outside [min, max] ([INFERRED] text).
func lengthError(field, value string, n, min, max int) *apiError {
	if n < min {
		return invalid(field, "minLength", value, "Length of value %s for field '%s' must be greater than or equal to %d",
			pyRepr(value), field, min)
	}
	return invalid(field, "maxLength", value, "Length of value %s for field '%s' must be less than or equal to %d",
		pyRepr(value), field, max)
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

// checkedString reads the string field name in HipChat's texts: missing (when required), a type
// error, or a length error for fewer than min or more than max characters (max < 0: no bound).
// present is false when the field is absent or null.
func (f fields) checkedString(name string, required bool, min, max int) (value string, present bool, err error) {
	if !f.has(name) {
		if required {
			return "", false, missing(name)
		}
		return "", false, nil
	}
	if err := json.Unmarshal(f[name], &value); err != nil {
		return "", true, typeError(name, f[name], "string")
	}
	if n := utf8.RuneCountInString(value); n < min || (max >= 0 && n > max) {
		return "", true, lengthError(name, value, n, min, max)
	}
	return value, true, nil
}

// checkedChoice reads an optional string field that must be one of options, or def when it is
// absent, null or "" (clients send "" for "not given", and the emulator has always taken it so).
func (f fields) checkedChoice(name, def string, options ...string) (string, error) {
	value, present, err := f.checkedString(name, false, 0, -1)
	if err != nil || !present || value == "" {
		return def, err
	}
	if !slices.Contains(options, value) {
		return "", enumError(name, value, options)
	}
	return value, nil
}

// checkedBool reads an optional boolean field, def when absent; "true" (a string) is a type error,
// as HipChat's captured answer shows.
func (f fields) checkedBool(name string, def bool) (bool, error) {
	if !f.has(name) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(f[name], &b); err != nil {
		return def, typeError(name, f[name], "boolean")
	}
	return b, nil
}
