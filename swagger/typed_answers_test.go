package swagger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What clients generated from the definition rely on (issue 26): every operation is in exactly one
// family (a tag the definition declares, so generators group them), the definition says who to
// contact and under which licence, the subscribe operations' 201 and the polling triggers' 200 are
// typed, and a user stub has HipChat's version stamp (which mentions carry).
func TestTheDefinitionTypesWhatClientsGenerateFrom(t *testing.T) {
	d := embedded(t)
	declared := map[string]bool{}
	for _, tag := range get(t, d, "tags").([]any) {
		name := get(t, tag, "name").(string)
		assert.NotEmpty(t, get(t, tag, "description"), name)
		declared[name] = true
	}
	used := map[string]int{}
	for _, want := range wantOperations {
		op, _ := operation(t, d, want.ID)
		tags, ok := op["tags"].([]any)
		require.True(t, ok, "%s has tags", want.ID)
		require.Len(t, tags, 1, "%s is in one family", want.ID)
		assert.True(t, declared[tags[0].(string)], "%s's tag %q is declared", want.ID, tags[0])
		used[tags[0].(string)]++
	}
	for name := range declared {
		assert.Positive(t, used[name], "tag %q holds an operation", name)
	}
	for _, key := range []string{"name", "url"} {
		assert.NotEmpty(t, get(t, d, "info", "contact", key), "info.contact.%s", key)
		assert.NotEmpty(t, get(t, d, "info", "license", key), "info.license.%s", key)
	}

	for _, id := range []string{"OnNewMessageWebhook", "OnMentionWebhook", "OnKeywordWebhook", "OnNewFileWebhook", "OnNewRoomWebhook"} {
		op, _ := operation(t, d, id)
		assert.Equal(t, "#/definitions/Subscription", get(t, op, "responses", "201", "schema", "$ref"), id)
	}
	for id, list := range map[string]string{"OnNewMessage": "HistoryResponse", "OnMention": "HistoryResponse", "OnKeyword": "HistoryResponse",
		"OnNewFile": "HistoryResponse", "OnNewRoom": "RoomList"} {
		op, _ := operation(t, d, id)
		assert.Equal(t, "#/definitions/"+list, get(t, op, "responses", "200", "schema", "$ref"), id)
	}
	for _, f := range []string{"secret", "location", "room", "room_id", "room_name"} {
		assert.True(t, has(get(t, d, "definitions", "Subscription", "properties"), f), "Subscription.%s", f)
	}
	assert.Equal(t, "integer", get(t, d, "definitions", "HistoryItem", "properties", "room_id", "type"), "HipChat's numeric room id")
	assert.Equal(t, "string", get(t, d, "definitions", "HistoryItem", "properties", "room_name", "type"))
	assert.Equal(t, "string", get(t, d, "definitions", "User", "properties", "version", "type"))
}
