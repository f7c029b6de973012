package hipchatsim

import (
	"bytes"
	"encoding/json"
)

// A notification's card (spec §2.7) is validated against the schema HipChat itself printed in a
// 400 captured in 2017 (jenkinsci/hipchat-plugin#106 quotes the whole answer, and an NLog HipChat
// target's source keeps another copy):
//
//   - style (required): file, image, application, link or media, 1–16 characters;
//   - title (required): 1–500 characters; id (required): at least 1 character;
//   - description: a string of 0–500 characters, or {"value": 1–1000 characters, "format": html or
//     text}, both required and nothing else;
//   - format: compact or medium (1–25 characters); url: at least 1 character;
//   - thumbnail: {"url" (required, 1–250), "url@2x" (1–250), "width" and "height" (numbers: "43"
//     is refused, as in the capture)}, other keys allowed;
//   - activity: {"html" (required, at least 1 character), "icon"}, nothing else;
//   - icon, activity.icon and an attribute's value.icon: a string, or {"url" (required), "url@2x"};
//   - attributes: 1–10 of {"label" (1–50), "value" (required): {"label" (required, at least 1),
//     "url", "style" (lozenge, lozenge-success, lozenge-error, lozenge-current, lozenge-complete or
//     lozenge-moved), "icon"}}, nothing else in either;
//   - the card itself may carry other keys, and may be null (no card).
//
// HipChat's schema gave "card" the type [null, {card}], so its validator reported any fault inside
// the card as the card's type: 400 {"field": "card", "validation": "type", "value": <the card>,
// "expected_type": [{"type": "null"}, {<schema>}], "description": "Value {value!r} is not of type
// {expected_type!r}", "message": "Value {…the card…} for field 'card' is not of type [{'type':
// 'null'}, {…}]"}. The emulator answers every schema fault that way; its schema in expected_type
// and in the message has HipChat's types, lengths, enumerations and optional flags but not the
// descriptions HipChat's carried, and prints keys in its own order (HipChat's followed Python's
// dict order).
//
// Style-specific rules come from Atlassian's own web client, which refused to show a link card
// without a title or description and an image card without a url (card_helper.js of HipChat's web
// client 4.30.3). Whether the server refused them is not recorded ([INFERRED]): the emulator does,
// so that a flow does not post a card no one would see, with HipChat's missing-field text naming
// the card's field: 400 {"field": "card.description", "validation": "optional", "message":
// "Required field 'description' is missing"}.

var cardIcon = sUnion(newSchema("string"), sObject(true,
	prop("url", sString(1, -1)),
	prop("url@2x", sString(1, -1).opt())))

func cardIconOpt() *schema {
	s := *cardIcon
	s.optional = true
	return &s
}

func boundedEnum(min, max int, values ...string) *schema {
	s := sEnum(values...)
	s.minLen, s.maxLen = min, max
	return s
}

var cardSchema = sObject(true,
	prop("style", boundedEnum(1, 16, "file", "image", "application", "link", "media")),
	prop("description", sUnion(sString(0, 500), sObject(false,
		prop("value", sString(1, 1000)),
		prop("format", sEnum("html", "text")))).opt()),
	prop("format", boundedEnum(1, 25, "compact", "medium").opt()),
	prop("url", sString(1, -1).opt()),
	prop("title", sString(1, 500)),
	prop("thumbnail", sObject(true,
		prop("url", sString(1, 250)),
		prop("url@2x", sString(1, 250).opt()),
		prop("width", newSchema("number").opt()),
		prop("height", newSchema("number").opt())).opt()),
	prop("activity", sObject(false,
		prop("html", sString(1, -1)),
		prop("icon", cardIconOpt())).opt()),
	prop("attributes", sArray(sObject(false,
		prop("label", sString(1, 50).opt()),
		prop("value", sObject(false,
			prop("url", sString(1, -1).opt()),
			prop("style", sEnum("lozenge-success", "lozenge-error", "lozenge-current", "lozenge-complete",
				"lozenge-moved", "lozenge").opt()),
			prop("label", sString(1, -1)),
			prop("icon", cardIconOpt())))), 1, 10).opt()),
	prop("id", sString(1, -1)),
	prop("icon", cardIconOpt()),
)

// cardType is the type of a notification's "card": no card, or a card.
var cardType = []*schema{newSchema("null"), cardSchema}

// styleRequires lists, per style, the card fields Atlassian's web client needed to show it.
var styleRequires = map[string][]string{
	"link":  {"title", "description"},
	"image": {"url"},
}

// readCard validates a notification's card field (present and not null) and returns it compacted,
// as history stores it (a JSON string). Errors: the card's type error, or a style's missing field.
func readCard(raw json.RawMessage) (string, error) {
	card, err := decodeOrdered(raw)
	if err != nil || !cardSchema.valid(card) {
		return "", typeError("card", raw, cardType)
	}
	d := card.(*pyDict) // the schema checked it is an object whose style is a string
	style, _ := d.get("style")
	for _, field := range styleRequires[style.(string)] {
		if v, ok := d.get(field); !ok || v == nil {
			return "", missing("card." + field)
		}
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw) // cannot fail: it decoded above
	return compact.String(), nil
}
