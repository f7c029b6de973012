package triggers

import (
	"encoding/json"
	"strings"
	"testing"
)

// A delivery's body keeps HTML and line separators as JSON.stringify writes them, and still decodes
// to the same value.
func TestEncodePayloadWritesWhatJSONStringifyWrites(t *testing.T) {
	cases := []struct {
		name, message, want string
	}{
		{"html", `<b>build</b> & <i>deploy</i>`, `{"message":"<b>build</b> & <i>deploy</i>"}`},
		{"line separators", "one\u2028two\u2029three", "{\"message\":\"one\u2028two\u2029three\"}"},
		{"an escaped backslash before u2028 stays text", `\u2028`, `{"message":"\\u2028"}`},
		{"quotes and controls", "\"q\"\n\t\x01", `{"message":"\"q\"\n\t\u0001"}`},
		{"nothing to change", "plain", `{"message":"plain"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := EncodePayload(map[string]string{"message": tc.message})
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.want {
				t.Fatalf("body %s, want %s", body, tc.want)
			}
			var back map[string]string
			if err := json.Unmarshal(body, &back); err != nil || back["message"] != tc.message {
				t.Fatalf("decodes to %q (%v), want %q", back["message"], err, tc.message)
			}
		})
	}
}

// A history item with an HTML notification is encoded without \u003c escapes and without a
// trailing newline.
func TestEncodePayloadOfAnHTMLNotification(t *testing.T) {
	body, err := EncodePayload(HistoryItem{ID: "m1", Type: "notification", Message: "<b>build #1</b> passed &amp; deployed", MessageFormat: "html"})
	if err != nil {
		t.Fatal(err)
	}
	for _, escaped := range []string{`\u003c`, `\u003e`, `\u0026`} {
		if strings.Contains(string(body), escaped) {
			t.Fatalf("body %s holds %s", body, escaped)
		}
	}
	if !strings.Contains(string(body), `"message":"<b>build #1</b> passed &amp; deployed"`) || strings.HasSuffix(string(body), "\n") {
		t.Fatalf("body %q", body)
	}
}
