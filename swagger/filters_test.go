package swagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The message triggers show their filters as advanced parameters with summaries (query parameters
// of the polling triggers, body members of the subscriptions); the named triggers fix theirs:
// OnMention takes no mentions (it is me), OnKeyword's keywords are required and shown first.
func TestFiltersAreAdvancedParametersOfTheMessageTriggers(t *testing.T) {
	d := embedded(t)
	want := map[string][]string{
		"OnNewMessage": filterNames, "OnNewMessageWebhook": filterNames,
		"OnNewFile": {"mentions", "includeAtAll", "keywords", "pattern", "from"}, "OnNewFileWebhook": {"mentions", "includeAtAll", "keywords", "pattern", "from"},
		"OnMention": {"includeAtAll", "keywords", "pattern", "from", "include"}, "OnMentionWebhook": {"includeAtAll", "keywords", "pattern", "from", "include"},
		"OnKeyword": filterNames, "OnKeywordWebhook": filterNames,
		"OnNewRoom": nil, "OnNewRoomWebhook": nil,
	}
	for id, names := range want {
		op, _ := operation(t, d, id)
		got := map[string]map[string]any{}
		for _, p := range parameters(op) {
			switch p["in"] {
			case "query":
				if p["name"] != "state" {
					got[p["name"].(string)] = p
				}
			case "body":
				for name, member := range get(t, p, "schema", "properties").(map[string]any) {
					if name != "callbackUrl" && name != "ordering" && name != "maxPerSecond" {
						got[name] = member.(map[string]any)
					}
				}
			}
		}
		var gotNames []string
		for name, p := range got {
			gotNames = append(gotNames, name)
			assert.NotEmpty(t, p["x-ms-summary"], "%s %s", id, name)
			assert.NotEmpty(t, p["description"], "%s %s", id, name)
			if (id == "OnKeyword" || id == "OnKeywordWebhook") && name == "keywords" {
				assert.Equal(t, "important", p["x-ms-visibility"], "%s: the keywords are what the trigger is about", id)
				continue
			}
			assert.Equal(t, "advanced", p["x-ms-visibility"], "%s %s", id, name)
		}
		assert.ElementsMatch(t, names, gotNames, id)
	}
	keyword, _ := operation(t, d, "OnKeyword")
	for _, p := range parameters(keyword) {
		if p["name"] == "keywords" {
			assert.Equal(t, true, p["required"])
		}
	}
	hook, _ := operation(t, d, "OnKeywordWebhook")
	for _, p := range parameters(hook) {
		if p["in"] == "body" {
			assert.Contains(t, get(t, p, "schema", "required"), "keywords")
		}
	}
}
