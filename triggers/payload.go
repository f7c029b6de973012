package triggers

import (
	"bytes"
	"encoding/json"
)

// EncodePayload is the JSON body of a delivery: v encoded as JavaScript's JSON.stringify would write
// it, so that a receiver that parses the body and serializes it again before verifying its signature
// (Node-RED's HTTP-in node, an Express app with express.json(), n8n's webhook node) computes the very
// bytes that were signed. That means no HTML escaping (`<`, `>` and `&` of an HTML notification stay
// as they are), U+2028 and U+2029 written as themselves rather than escaped, and no trailing newline.
// Errors: those of encoding/json for a value it cannot encode.
func EncodePayload(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return unescapeLineSeparators(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// unescapeLineSeparators turns the escapes \u2028 and \u2029, which encoding/json always writes, back
// into the characters, as JSON.stringify leaves them. Every backslash of encoded JSON starts an
// escape, so the scan steps over each escape whole and never mistakes an escaped backslash followed
// by "u2028" for one.
func unescapeLineSeparators(encoded []byte) []byte {
	if !bytes.Contains(encoded, []byte(`\u202`)) {
		return encoded
	}
	out := make([]byte, 0, len(encoded))
	for i := 0; i < len(encoded); i++ {
		b := encoded[i]
		if b != '\\' || i+1 == len(encoded) {
			out = append(out, b)
			continue
		}
		escape := encoded[i : i+2]
		if encoded[i+1] == 'u' && i+6 <= len(encoded) {
			escape = encoded[i : i+6]
		}
		switch string(escape) {
		case `\u2028`:
			out = append(out, "\u2028"...)
		case `\u2029`:
			out = append(out, "\u2029"...)
		default:
			out = append(out, escape...)
		}
		i += len(escape) - 1
	}
	return out
}
