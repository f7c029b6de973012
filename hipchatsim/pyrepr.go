package hipchatsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HipChat's API server was written in Python 2, and its validation errors print the offending value
// and the expected type as Python printed them: "Value u'true' for field 'notify' is not of type
// 'boolean'" (spec §1.4 and the captured card error in notification.go). This file renders decoded
// JSON the same way: strings as u'…' with Python's escapes, objects as {u'key': value} in the order
// the client sent them, true/false/null as True/False/None.

// pyDict is a JSON object kept in its keys' order. unicodeKeys prints its keys as u'…' (values a
// client sent) rather than '…' (the emulator's own schema, which Python held as str).
type pyDict struct {
	unicodeKeys bool
	items       []pyItem
}

type pyItem struct {
	key   string
	value any
}

// get returns the value of key and whether it is present.
func (d *pyDict) get(key string) (any, bool) {
	for _, it := range d.items {
		if it.key == key {
			return it.value, true
		}
	}
	return nil, false
}

// decodeOrdered decodes one JSON value with objects as *pyDict (unicode keys, in order), arrays as
// []any and numbers as json.Number.
func decodeOrdered(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token() // ]
			return list, err
		}
		d := &pyDict{unicodeKeys: true}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			d.items = append(d.items, pyItem{key: k.(string), value: v})
		}
		_, err := dec.Token() // }
		return d, err
	default:
		return t, nil // string, json.Number, bool or nil
	}
}

// pyRepr prints v, data a client sent, as Python 2's repr printed it after decoding: strings are
// unicode (u'…').
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, true)
	return b.String()
}

// pyReprStr prints v, data of HipChat's own, as Python 2 printed it: strings are byte strings ('…').
func pyReprStr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, false)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, unicode bool) {
	switch t := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if t {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case json.Number:
		b.WriteString(pyNumber(t))
	case int:
		b.WriteString(strconv.Itoa(t))
	case string:
		writePyString(b, t, unicode)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, unicode)
		}
		b.WriteByte(']')
	case []string:
		list := make([]any, len(t))
		for i, s := range t {
			list[i] = s
		}
		writeRepr(b, list, unicode)
	case *pyDict:
		b.WriteByte('{')
		for i, it := range t.items {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, it.key, t.unicodeKeys)
			b.WriteString(": ")
			writeRepr(b, it.value, unicode)
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%v", t)
	}
}

// pyNumber prints a JSON number as Python printed the int or float it decoded to.
func pyNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		return s
	}
	exp := strconv.FormatFloat(f, 'e', -1, 64)
	e, _ := strconv.Atoi(exp[strings.IndexByte(exp, 'e')+1:])
	if e < -4 || e >= 16 {
		return exp // Python's repr switches to an exponent at the same points and writes it alike
	}
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(out, ".") {
		out += ".0"
	}
	return out
}

// writePyString prints s as Python 2 printed a unicode string (u'…') or a byte string ('…'): single
// quotes unless s has a single quote and no double quote, and every character outside printable
// ASCII escaped.
func writePyString(b *strings.Builder, s string, unicode bool) {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = '"'
	}
	if unicode {
		b.WriteByte('u')
	}
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || (r >= 0x7f && r < 0x100):
			fmt.Fprintf(b, `\x%02x`, r)
		case r >= 0x100 && r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		case r >= 0x10000:
			fmt.Fprintf(b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
}
