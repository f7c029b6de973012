package swagger

import (
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
)

// The designer shows x-ms-summary as a field's label: without one it shows the raw name, or nothing
// for a body. Every parameter and every member of every body and response has one, however deep.
func TestEveryParameterAndPropertyHasASummary(t *testing.T) {
	d := embedded(t)
	var walk func(where string, schema map[string]any)
	walk = func(where string, schema map[string]any) {
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			prop := p.(map[string]any)
			if _, isRef := prop["$ref"]; !isRef {
				assert.NotEmpty(t, prop["x-ms-summary"], "%s.%s has no x-ms-summary", where, name)
			}
			walk(where+"."+name, prop)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			walk(where+"[]", items)
		}
	}
	for _, want := range wantOperations {
		op, _ := operation(t, d, want.ID)
		for _, p := range parameters(op) {
			assert.NotEmpty(t, p["x-ms-summary"], "%s: parameter %s has no x-ms-summary", want.ID, p["name"])
			if p["in"] == "body" {
				walk(want.ID+" body", get(t, p, "schema").(map[string]any))
			}
		}
	}
	for name, def := range get(t, d, "definitions").(map[string]any) {
		if name != "Error" { // its members have summaries; the wrapper object is no field
			walk(name, def.(map[string]any))
		}
	}
}

// Every userId, and CreateRoom's owner, picks from ListAllUsers, as every roomId picks from
// ListRooms.
func TestEveryUserIDPicksFromListAllUsers(t *testing.T) {
	d := embedded(t)
	picker := map[string]any{"operationId": "ListAllUsers", "value-collection": "items", "value-path": "id", "value-title": "display_name"}
	seen := 0
	for _, want := range wantOperations {
		op, _ := operation(t, d, want.ID)
		for _, p := range parameters(op) {
			if p["name"] == "userId" {
				seen++
				assert.Equal(t, picker, p["x-ms-dynamic-values"], "%s: userId", want.ID)
				assert.Equal(t, "User Id or Email", p["x-ms-summary"], want.ID)
			}
		}
	}
	assert.Equal(t, 5, seen, "AddUserToRoom, GetUserByID, SendPrivateMessage, RemoveUserFromRoom, InviteUserToRoom")
	op, _ := operation(t, d, "CreateRoom")
	owner := get(t, bodyOf(t, op), "schema", "properties", "ownerUserId")
	assert.Equal(t, picker, get(t, owner, "x-ms-dynamic-values"))

	list, _ := operation(t, d, "ListAllUsers")
	assert.Equal(t, "#/definitions/UserChoiceList", get(t, list, "responses", "200", "schema", "$ref"))
	assert.Equal(t, "array", get(t, d, "definitions", "UserChoiceList", "properties", "items", "type"), "the room picker's {items:[…]} shape")
	for _, f := range []string{"id", "display_name"} {
		assert.True(t, has(get(t, d, "definitions", "UserChoice", "properties"), f), "UserChoice.%s", f)
	}
}

// The definition's dropdowns and limits are the ones the actions enforce, so a value the designer
// offers is never refused, and a refused value is never offered.
func TestEnumsAndLimitsAreTheActions(t *testing.T) {
	d := embedded(t)
	field := func(id string, path ...string) map[string]any {
		op, _ := operation(t, d, id)
		keys := []string{"schema"}
		for _, p := range path {
			keys = append(keys, "properties", p)
		}
		return get(t, bodyOf(t, op), keys...).(map[string]any)
	}
	enum := func(f map[string]any) []string {
		var out []string
		for _, v := range f["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	assert.Equal(t, actions.Colors, enum(field("SendNotification", "color")))
	assert.ElementsMatch(t, actions.MessageFormats, enum(field("SendNotification", "messageFormat")))
	assert.ElementsMatch(t, actions.MessageFormats, enum(field("SendPrivateMessage", "messageFormat")))
	assert.Equal(t, actions.CardStyles, enum(field("SendNotification", "card", "style")))
	assert.Equal(t, actions.CardFormats, enum(field("SendNotification", "card", "format")))
	assert.Equal(t, actions.DescriptionFormats, enum(field("SendNotification", "card", "descriptionFormat")))
	attributes := get(t, field("SendNotification", "card", "attributes"), "items", "properties").(map[string]any)
	assert.Equal(t, actions.AttributeLozenges, enum(get(t, attributes, "style").(map[string]any)))
	assert.Equal(t, actions.Privacies, enum(field("CreateRoom", "privacy")))

	for _, tc := range []struct {
		id    string
		path  []string
		limit int
	}{
		{"SendNotification", []string{"message"}, actions.MaxNotificationLength},
		{"SendNotification", []string{"from"}, actions.MaxFromLength},
		{"SendNotification", []string{"attachTo"}, actions.MaxMessageIDLength},
		{"SendNotification", []string{"card", "title"}, actions.MaxCardTitle},
		{"SendNotification", []string{"card", "description"}, actions.MaxCardDescription},
		{"SendNotification", []string{"card", "thumbnail"}, actions.MaxCardThumbnail},
		{"ReplyToMessage", []string{"message"}, actions.MaxMessageLength},
		{"ReplyToMessage", []string{"parentMessageId"}, actions.MaxMessageIDLength},
		{"SendPrivateMessage", []string{"message"}, actions.MaxPrivateMessageLength},
		{"ShareLinkWithRoom", []string{"message"}, actions.MaxMessageLength},
		{"ShareFileWithRoom", []string{"fileName"}, actions.MaxFileNameLength},
		{"ShareFileWithRoom", []string{"message"}, actions.MaxMessageLength},
		{"SetRoomTopic", []string{"topic"}, actions.MaxTopicLength},
		{"CreateRoom", []string{"name"}, actions.MaxRoomNameLength},
		{"CreateRoom", []string{"topic"}, actions.MaxTopicLength},
		{"InviteUserToRoom", []string{"reason"}, actions.MaxReasonLength},
	} {
		assert.EqualValues(t, tc.limit, field(tc.id, tc.path...)["maxLength"], "%s %v", tc.id, tc.path)
	}

	op, _ := operation(t, d, "ShareFileWithRoom")
	size := strconv.Itoa(actions.DefaultMaxFileBytes)
	assert.Contains(t, op["description"], size, "the file limit is stated")
	assert.Contains(t, field("ShareFileWithRoom", "fileContent")["description"], size)
	assert.Equal(t, "byte", field("ShareFileWithRoom", "fileContent")["format"], "base64, as the engines pass files")

	recent, _ := operation(t, d, "GetRecentMessages")
	for _, p := range parameters(recent) {
		if p["name"] == "maxResults" {
			assert.EqualValues(t, actions.MaxRecentMessages, p["maximum"])
			assert.EqualValues(t, actions.DefaultMaxResults, p["default"])
		}
	}
}

func TestAdvancedFieldsAreTucked(t *testing.T) {
	d := embedded(t)
	for id, fields := range map[string][]string{
		"SendNotification":   {"messageFormat", "attachTo", "card"},
		"SendPrivateMessage": {"messageFormat"},
		"ShareFileWithRoom":  {"contentType"},
		"CreateRoom":         {"guestAccess", "ownerUserId"},
	} {
		op, _ := operation(t, d, id)
		for _, f := range fields {
			assert.Equal(t, "advanced", get(t, bodyOf(t, op), "schema", "properties", f, "x-ms-visibility"), "%s.%s", id, f)
		}
	}
}

func TestNewActionsAnswerTypedSchemasAndErrors(t *testing.T) {
	d := embedded(t)
	for id, want := range map[string]struct {
		code, schema, scope string
	}{
		"SendNotification":   {"200", "ActionResult", "send_notification"},
		"ReplyToMessage":     {"200", "ActionResult", "send_message"},
		"SendPrivateMessage": {"200", "ActionResult", "send_message"},
		"ShareLinkWithRoom":  {"200", "ActionResult", "send_message"},
		"ShareFileWithRoom":  {"200", "FileShared", "send_message"},
		"SetRoomTopic":       {"200", "ActionResult", "admin_room"},
		"CreateRoom":         {"201", "RoomDetails", "manage_rooms"},
		"GetRoom":            {"200", "RoomDetails", "view_room"},
		"GetRecentMessages":  {"200", "HistoryResponse", "view_messages"},
		"RemoveUserFromRoom": {"200", "ActionResult", "admin_room"},
		"InviteUserToRoom":   {"200", "ActionResult", "admin_room"},
		"ListAllUsers":       {"200", "UserChoiceList", "view_group"},
		"TestConnection":     {"200", "ConnectionInfo", ""},
	} {
		op, _ := operation(t, d, id)
		responses := get(t, op, "responses").(map[string]any)
		assert.Equal(t, "#/definitions/"+want.schema, get(t, responses, want.code, "schema", "$ref"), id)
		for _, code := range []string{"401", "403", "429", "502"} {
			assert.Contains(t, responses, code, "%s answers %s", id, code)
		}
		if want.scope != "" {
			assert.Contains(t, get(t, responses, "403", "description"), want.scope, "%s: the 403 names its scope", id)
		}
		if len(parameters(op)) > 0 {
			assert.Contains(t, responses, "400", "%s: its input can be refused", id)
		}
	}
	for _, def := range []string{"ActionResult", "FileShared", "RoomDetails", "ConnectionInfo"} {
		assert.Equal(t, "object", get(t, d, "definitions", def, "type"), def)
	}
	for _, f := range []string{"topic", "privacy", "owner", "participants_count", "is_archived", "created", "links"} {
		assert.True(t, has(get(t, d, "definitions", "RoomDetails", "properties"), f), "RoomDetails.%s", f)
	}
}

func TestTestConnectionIsTheWizardsTest(t *testing.T) {
	d := embedded(t)
	assert.Equal(t, map[string]any{"testConnection": map[string]any{"operationId": "TestConnection", "parameters": map[string]any{}}},
		get(t, d, "x-ms-capabilities"))
	op, _ := operation(t, d, "TestConnection")
	assert.Equal(t, "internal", op["x-ms-visibility"], "the wizard calls it, designers do not")
	assert.Empty(t, parameters(op), "the wizard calls it with the connection alone")
	assert.Contains(t, get(t, op, "responses", "401", "description"), "rejected")
}

func TestTheSeedOperationsKeepTheirShape(t *testing.T) {
	d := embedded(t)
	for id, want := range map[string][]string{
		"ListUsers":     {"roomId"},
		"GetUserByID":   {"userId"},
		"PostMessage":   {"roomId", "body"},
		"AddUserToRoom": {"roomId", "userId"},
	} {
		op, _ := operation(t, d, id)
		var names []string
		for _, p := range parameters(op) {
			names = append(names, p["name"].(string))
		}
		assert.Equal(t, want, names, id)
	}
	op, _ := operation(t, d, "PostMessage")
	assert.Equal(t, []any{"message"}, get(t, bodyOf(t, op), "schema", "required"))
	assert.True(t, slices.Equal([]string{"message"}, keys(get(t, bodyOf(t, op), "schema", "properties").(map[string]any))))
}

// bodyOf returns op's body parameter.
func bodyOf(t *testing.T, op map[string]any) map[string]any {
	t.Helper()
	for _, p := range parameters(op) {
		if p["in"] == "body" {
			return p
		}
	}
	require.Fail(t, "no body parameter", "%v", op["operationId"])
	return nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
