package hipchatsim

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// schema is the small part of JSON Schema (draft 3, as HipChat's Python validator used it) that
// HipChat's captured card schema needs: a type or a union of types, "optional" (properties are
// required unless optional), string and array lengths, enumerations, properties and whether others
// are allowed, and the schema of array items. It validates decoded JSON (decodeOrdered) and prints
// itself both as JSON (the error's expected_type) and as Python printed it (the error's message).
type schema struct {
	typ        string    // JSON type: string, number, boolean, object, array, null; "" for a union
	union      []*schema // any one of them ("type": [ … ])
	optional   bool
	minLen     int // -1: no bound
	maxLen     int // -1: no bound
	enum       []string
	props      []schemaProp
	additional *bool // additionalProperties; nil: not stated
	items      *schema
}

type schemaProp struct {
	name string
	s    *schema
}

func newSchema(typ string) *schema { return &schema{typ: typ, minLen: -1, maxLen: -1} }

func sString(min, max int) *schema {
	s := newSchema("string")
	s.minLen, s.maxLen = min, max
	return s
}

func sEnum(values ...string) *schema {
	s := sString(1, -1)
	s.enum = values
	return s
}

func sObject(additional bool, props ...schemaProp) *schema {
	s := newSchema("object")
	s.additional, s.props = &additional, props
	return s
}

func sArray(items *schema, min, max int) *schema {
	s := newSchema("array")
	s.items, s.minLen, s.maxLen = items, min, max
	return s
}

func sUnion(alternatives ...*schema) *schema {
	s := newSchema("")
	s.union = alternatives
	return s
}

func prop(name string, s *schema) schemaProp { return schemaProp{name: name, s: s} }

// opt marks s optional and returns it.
func (s *schema) opt() *schema {
	s.optional = true
	return s
}

// valid reports whether v (decoded by decodeOrdered) satisfies s.
func (s *schema) valid(v any) bool {
	if s.union != nil {
		return slices.ContainsFunc(s.union, func(alt *schema) bool { return alt.valid(v) })
	}
	switch s.typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "string":
		str, ok := v.(string)
		return ok && s.lengthOK(utf8.RuneCountInString(str)) && (s.enum == nil || slices.Contains(s.enum, str))
	case "array":
		list, ok := v.([]any)
		return ok && s.lengthOK(len(list)) && !slices.ContainsFunc(list, func(e any) bool { return !s.items.valid(e) })
	case "object":
		d, ok := v.(*pyDict)
		return ok && s.objectOK(d)
	}
	return false
}

func (s *schema) lengthOK(n int) bool {
	return (s.minLen < 0 || n >= s.minLen) && (s.maxLen < 0 || n <= s.maxLen)
}

// objectOK checks the properties: each present one valid, each required one present, and no
// others when additionalProperties is false. A present null is checked like any value.
func (s *schema) objectOK(d *pyDict) bool {
	for _, p := range s.props {
		v, present := d.get(p.name)
		if !present {
			if !p.s.optional {
				return false
			}
			continue
		}
		if !p.s.valid(v) {
			return false
		}
	}
	if s.additional != nil && !*s.additional {
		for _, it := range d.items {
			if !slices.ContainsFunc(s.props, func(p schemaProp) bool { return p.name == it.key }) {
				return false
			}
		}
	}
	return true
}

// typeJSON is s's "type" as HipChat's error listed it: a name, or the list of the union's schemas.
func (s *schema) typeJSON() any {
	if s.union == nil {
		return s.typ
	}
	list := make([]any, len(s.union))
	for i, alt := range s.union {
		list[i] = alt.toJSON()
	}
	return list
}

// toJSON is s as a JSON Schema object (map keys are sorted when written).
func (s *schema) toJSON() map[string]any {
	out := map[string]any{"type": s.typeJSON()}
	s.eachKeyword(func(key string, value any) { out[key] = value })
	if s.props != nil {
		props := map[string]any{}
		for _, p := range s.props {
			props[p.name] = p.s.toJSON()
		}
		out["properties"] = props
	}
	if s.items != nil {
		out["items"] = s.items.toJSON()
	}
	return out
}

// toRepr is s as Python printed the schema dict, keys in a fixed order.
func (s *schema) toRepr() *pyDict {
	d := &pyDict{}
	if s.union == nil {
		d.items = append(d.items, pyItem{"type", s.typ})
	} else {
		alts := make([]any, len(s.union))
		for i, alt := range s.union {
			alts[i] = alt.toRepr()
		}
		d.items = append(d.items, pyItem{"type", alts})
	}
	s.eachKeyword(func(key string, value any) { d.items = append(d.items, pyItem{key, value}) })
	if s.props != nil {
		props := &pyDict{}
		for _, p := range s.props {
			props.items = append(props.items, pyItem{p.name, p.s.toRepr()})
		}
		d.items = append(d.items, pyItem{"properties", props})
	}
	if s.items != nil {
		d.items = append(d.items, pyItem{"items", s.items.toRepr()})
	}
	return d
}

// eachKeyword calls f with each keyword of s besides type, properties and items, in a fixed order.
func (s *schema) eachKeyword(f func(key string, value any)) {
	if s.optional {
		f("optional", true)
	}
	if s.minLen >= 0 {
		f("minLength", s.minLen)
	}
	if s.maxLen >= 0 {
		f("maxLength", s.maxLen)
	}
	if s.enum != nil {
		f("enum", s.enum)
	}
	if s.additional != nil {
		f("additionalProperties", *s.additional)
	}
}
