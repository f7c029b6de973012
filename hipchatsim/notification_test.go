package hipchatsim

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// cardBody is a notification body with the card given as raw JSON, so that its keys keep the order
// a client sent them in (HipChat's message prints them in that order).
func cardBody(card string) string { return `{"message":"build 7","card":` + card + `}` }

// TestNotificationValidation: a notification and its card are refused as HipChat refused them, with
// HipChat's 400 texts — the captured ones exactly (a missing message, notify "true", a card that
// breaks the card schema) and the rest in the same validator's words — and valid cards are taken
// and kept in history as the JSON string that was sent.
func TestNotificationValidation(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	const path = "/v2/room/General/notification"
	cardFault := func(card string) (string, string, string) {
		return cardBody(card), "card", "type"
	}
	type fault struct {
		name, body, field, validation string
	}
	var faults []fault
	for name, card := range map[string]string{
		"card without id":                   `{"style":"application","title":"t"}`,
		"card without title":                `{"style":"application","id":"c1"}`,
		"card format huge":                  `{"style":"application","id":"c1","title":"t","format":"huge"}`,
		"thumbnail without url":             `{"style":"application","id":"c1","title":"t","thumbnail":{"width":10}}`,
		"activity without html":             `{"style":"application","id":"c1","title":"t","activity":{"icon":"https://x/i.png"}}`,
		"activity with another key":         `{"style":"application","id":"c1","title":"t","activity":{"html":"<b>x</b>","title":"no"}}`,
		"thumbnail width as a string":       `{"style":"application","id":"c1","title":"t","thumbnail":{"url":"https://x/t.png","width":"43"}}`,
		"no attributes":                     `{"style":"application","id":"c1","title":"t","attributes":[]}`,
		"eleven attributes":                 `{"style":"application","id":"c1","title":"t","attributes":[` + strings.Repeat(`{"value":{"label":"v"}},`, 10) + `{"value":{"label":"v"}}]}`,
		"attribute value without label":     `{"style":"application","id":"c1","title":"t","attributes":[{"label":"k","value":{"style":"lozenge"}}]}`,
		"attribute lozenge unknown":         `{"style":"application","id":"c1","title":"t","attributes":[{"value":{"label":"v","style":"lozenge-warning"}}]}`,
		"attribute label too long":          `{"style":"application","id":"c1","title":"t","attributes":[{"label":"` + strings.Repeat("k", 51) + `","value":{"label":"v"}}]}`,
		"description object without format": `{"style":"application","id":"c1","title":"t","description":{"value":"d"}}`,
		"description too long":              `{"style":"application","id":"c1","title":"t","description":"` + strings.Repeat("d", 501) + `"}`,
		"style unknown":                     `{"style":"poster","id":"c1","title":"t"}`,
		"id empty":                          `{"style":"application","id":"","title":"t"}`,
		"id a number":                       `{"style":"application","id":12345,"title":"t"}`,
		"icon object without url":           `{"style":"application","id":"c1","title":"t","icon":{"url@2x":"https://x/i.png"}}`,
		"title too long":                    `{"style":"application","id":"c1","title":"` + strings.Repeat("t", 501) + `"}`,
		"card a string":                     `"no"`,
	} {
		b, f, v := cardFault(card)
		faults = append(faults, fault{name, b, f, v})
	}
	faults = append(faults,
		fault{"link card without description", cardBody(`{"style":"link","id":"c1","title":"t","url":"https://x"}`), "card.description", "optional"},
		fault{"image card without url", cardBody(`{"style":"image","id":"c1","title":"t"}`), "card.url", "optional"},
		fault{"no message", `{"color":"green"}`, "message", "optional"},
		fault{"empty message", `{"message":""}`, "message", "minLength"},
		fault{"long message", `{"message":"` + strings.Repeat("m", 10001) + `"}`, "message", "maxLength"},
		fault{"message a number", `{"message":5}`, "message", "type"},
		fault{"notify a string", `{"message":"x","notify":"true"}`, "notify", "type"},
		fault{"colour unknown", `{"message":"x","color":"pink"}`, "color", "enum"},
		fault{"format unknown", `{"message":"x","message_format":"md"}`, "message_format", "enum"},
		fault{"from too long", `{"message":"x","from":"` + strings.Repeat("f", 65) + `"}`, "from", "maxLength"},
		fault{"attach_to too long", `{"message":"x","attach_to":"` + strings.Repeat("a", 37) + `"}`, "attach_to", "maxLength"},
	)
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).do("POST", path, s.admin, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			e := r.json(t)["error"].(map[string]any)
			if e["field"] != tc.field || e["validation"] != tc.validation || e["type"] != "Bad Request" || e["code"] != float64(400) {
				t.Errorf("error %v, want field %s, validation %s", e, tc.field, tc.validation)
			}
		})
	}
	if n := len(s.history(s.admin, "/v2/room/General/history/latest").Items); n != 4 {
		t.Errorf("history has %d items after refused notifications, want the 4 of the fixtures", n)
	}
}

// TestNotificationErrorTexts: the texts themselves, as HipChat wrote them.
func TestNotificationErrorTexts(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	const path = "/v2/room/General/notification"
	errorOf := func(body string) map[string]any {
		t.Helper()
		r := s.do("POST", path, s.admin, body)
		if r.status != 400 {
			t.Fatalf("%s: status %d, want 400", body, r.status)
		}
		return r.json(t)["error"].(map[string]any)
	}

	// Captured (jenkinsci/hipchat-plugin#39): notify sent as a string.
	e := errorOf(`{"message":"x","notify":"true"}`)
	if e["message"] != "Value u'true' for field 'notify' is not of type 'boolean'" || e["expected_type"] != "boolean" || e["value"] != "true" {
		t.Errorf("notify: %v", e)
	}
	// Captured (spec §1.4): a missing message.
	e = errorOf(`{"color":"red"}`)
	if e["message"] != "Required field 'message' is missing" || e["value"] != nil {
		t.Errorf("missing message: %v", e)
	}
	for body, want := range map[string]string{
		`{"message":"x","color":"pink"}`: "Value u'pink' for field 'color' is not in the enumeration: ['yellow', 'green', 'red', 'purple', 'gray', 'random']",
		`{"message":""}`:                 "Length of value u'' for field 'message' must be greater than or equal to 1",
		`{"message":"x","from":"` + strings.Repeat("f", 65) + `"}`: "Length of value u'" + strings.Repeat("f", 65) + "' for field 'from' must be less than or equal to 64",
		`{"message":"x","message_format":"md"}`:                    "Value u'md' for field 'message_format' is not in the enumeration: ['html', 'text']",
		`{"message":["a"]}`:                                        "Value [u'a'] for field 'message' is not of type 'string'",
	} {
		if got := errorOf(body)["message"]; got != want {
			t.Errorf("%s:\n got %q\nwant %q", body, got, want)
		}
	}

	// A card fault is the card's type error, with the card printed as Python printed it (keys in
	// the order sent, unicode strings escaped) and HipChat's schema.
	card := `{"style":"application","title":"Caf\u00e9 \u2603 \ud83d\ude00 it's","url":"https://example.com","format":"medium",` +
		`"thumbnail":{"url":"https://example.com/t.png","width":"43","height":64.5},"attributes":[{"label":"Level","value":{"label":"Fatal","style":"lozenge"}}],` +
		`"id":"514a3468","icon":{"url":"https://example.com/i.png"},"notify":true,"extra":null}`
	e = errorOf(cardBody(card))
	wantStart := `Value {u'style': u'application', u'title': u"Caf\xe9 \u2603 \U0001f600 it's", u'url': u'https://example.com', ` +
		`u'format': u'medium', u'thumbnail': {u'url': u'https://example.com/t.png', u'width': u'43', u'height': 64.5}, ` +
		`u'attributes': [{u'label': u'Level', u'value': {u'label': u'Fatal', u'style': u'lozenge'}}], u'id': u'514a3468', ` +
		`u'icon': {u'url': u'https://example.com/i.png'}, u'notify': True, u'extra': None} for field 'card' is not of type [{'type': 'null'}, {'type': 'object', `
	msg, _ := e["message"].(string)
	if !strings.HasPrefix(msg, wantStart) {
		t.Errorf("card message:\n got %.600s\nwant %s…", msg, wantStart)
	}
	for _, part := range []string{"'id': {'type': 'string', 'minLength': 1}", "'width': {'type': 'number', 'optional': True}",
		"'enum': ['compact', 'medium']", "'additionalProperties': False"} {
		if !strings.Contains(msg, part) {
			t.Errorf("card message lacks %q", part)
		}
	}
	if e["description"] != "Value {value!r} is not of type {expected_type!r}" || e["validation"] != "type" || e["field"] != "card" {
		t.Errorf("card error %v", e)
	}
	var keys []string
	for k := range e {
		keys = append(keys, k)
	}
	if strings.Join(slices.Sorted(slices.Values(keys)), ",") != "code,description,expected_type,field,message,type,validation,value" {
		t.Errorf("card error keys %v, want the captured ones", keys)
	}
	expected, _ := e["expected_type"].([]any)
	if len(expected) != 2 || expected[0].(map[string]any)["type"] != "null" {
		t.Fatalf("expected_type %v", e["expected_type"])
	}
	props := expected[1].(map[string]any)["properties"].(map[string]any)
	if id, _ := json.Marshal(props["id"]); string(id) != `{"minLength":1,"type":"string"}` {
		t.Errorf("expected_type's id %s", id)
	}
	value, _ := e["value"].(map[string]any)
	if value["id"] != "514a3468" || value["thumbnail"].(map[string]any)["width"] != "43" {
		t.Errorf("value is not the card sent: %v", e["value"])
	}

	// A style's missing field, named in HipChat's missing-field text.
	e = errorOf(cardBody(`{"style":"link","id":"c1","title":"t"}`))
	if e["message"] != "Required field 'description' is missing" || e["field"] != "card.description" {
		t.Errorf("link card: %v", e)
	}
}

// TestNotificationCardsAccepted: cards of every style that meet the schema are taken, null is no card,
// and history keeps each card as the JSON string sent.
func TestNotificationCardsAccepted(t *testing.T) {
	s := newSim(t, func(o *Options) { o.Fixtures = mustFixtures(t) })
	cards := []string{
		`{"style":"application","url":"https://example.com","format":"medium","id":"514a3468","title":"Test Trace",` +
			`"description":"an exception","icon":{"url":"https://example.com/i.png"},"thumbnail":{"url":"https://example.com/t.png","width":43,"height":64},` +
			`"attributes":[{"label":"Level","value":{"label":"Fatal","style":"lozenge-error","url":"https://example.com/l","icon":"https://example.com/x.png"}}],` +
			`"activity":{"html":"<b>deployed</b>","icon":{"url":"https://example.com/a.png","url@2x":"https://example.com/a2.png"}}}`,
		`{"style":"link","id":"l1","title":"Release notes","url":"https://example.com/r","description":{"value":"<b>1.2</b> is out","format":"html"}}`,
		`{"style":"image","id":"i1","title":"Graph","url":"https://example.com/g.png","thumbnail":{"url":"https://example.com/g-small.png","url@2x":"https://example.com/g2.png"}}`,
		`{"style":"file","id":"f1","title":"notes.txt","url":"https://example.com/notes.txt"}`,
		`{"style":"media","id":"m1","title":"Demo","custom":{"kept":true}}`,
	}
	s.clock.Advance(time.Hour) // after the fixtures' messages
	for _, card := range cards {
		s.must(204, "POST", "/v2/room/General/notification", s.admin, cardBody(card))
	}
	s.must(204, "POST", "/v2/room/General/notification", s.admin, `{"message":"no card","card":null}`)
	var page struct {
		Items []map[string]any `json:"items"`
	}
	json.Unmarshal(s.must(200, "GET", "/v2/room/General/history/latest?max-results=6", s.admin, nil).body, &page)
	if len(page.Items) != 6 {
		t.Fatalf("history %d items", len(page.Items))
	}
	for i, card := range cards {
		if page.Items[i]["card"] != card {
			t.Errorf("card %d stored as %v, want %s", i, page.Items[i]["card"], card)
		}
	}
	if _, ok := page.Items[5]["card"]; ok {
		t.Errorf("a null card was stored: %v", page.Items[5])
	}
}
