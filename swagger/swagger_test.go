package swagger

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wantOperations is the HTTP surface fixed by the lead (DESIGN.md §2 and §8): flows, the server's
// routes and scripts rely on every row.
var wantOperations = []Operation{
	{ID: "ListRooms", Method: "GET", Path: "/rooms", Internal: true},
	{ID: "ListUsers", Method: "GET", Path: "/rooms/{roomId}/members"},
	{ID: "GetUserByID", Method: "GET", Path: "/users/{userId}"},
	{ID: "PostMessage", Method: "POST", Path: "/rooms/{roomId}/messages"},
	{ID: "AddUserToRoom", Method: "PUT", Path: "/rooms/{roomId}/members/{userId}"},
	{ID: "OnNewMessage", Method: "GET", Path: "/triggers/rooms/{roomId}/messages", Trigger: "batch"},
	{ID: "OnMention", Method: "GET", Path: "/triggers/rooms/{roomId}/mentions", Trigger: "batch"},
	{ID: "OnKeyword", Method: "GET", Path: "/triggers/rooms/{roomId}/keywords", Trigger: "batch"},
	{ID: "OnNewFile", Method: "GET", Path: "/triggers/rooms/{roomId}/files", Trigger: "batch"},
	{ID: "OnNewRoom", Method: "GET", Path: "/triggers/rooms", Trigger: "batch"},
	{ID: "OnNewMessageWebhook", Method: "POST", Path: "/subscriptions/rooms/{roomId}/messages", Trigger: "single"},
	{ID: "OnMentionWebhook", Method: "POST", Path: "/subscriptions/rooms/{roomId}/mentions", Trigger: "single"},
	{ID: "OnKeywordWebhook", Method: "POST", Path: "/subscriptions/rooms/{roomId}/keywords", Trigger: "single"},
	{ID: "OnNewFileWebhook", Method: "POST", Path: "/subscriptions/rooms/{roomId}/files", Trigger: "single"},
	{ID: "OnNewRoomWebhook", Method: "POST", Path: "/subscriptions/rooms", Trigger: "single"},
	{ID: "DeleteSubscription", Method: "DELETE", Path: "/subscriptions/{subscriptionId}", Internal: true},
	{ID: "ListSubscriptions", Method: "GET", Path: "/subscriptions", Internal: true},
	{ID: "GetSubscription", Method: "GET", Path: "/subscriptions/{subscriptionId}", Internal: true},
	{ID: "ListDeliveries", Method: "GET", Path: "/subscriptions/{subscriptionId}/deliveries", Internal: true},
	{ID: "ResendDelivery", Method: "POST", Path: "/subscriptions/{subscriptionId}/deliveries/{deliveryId}/resend", Internal: true},
	{ID: "SendTestEvent", Method: "POST", Path: "/subscriptions/{subscriptionId}/test", Internal: true},
	{ID: "PauseSubscription", Method: "POST", Path: "/subscriptions/{subscriptionId}/pause", Internal: true},
	{ID: "ResumeSubscription", Method: "POST", Path: "/subscriptions/{subscriptionId}/resume", Internal: true},
	{ID: "RecoverDeliveries", Method: "POST", Path: "/subscriptions/{subscriptionId}/recover", Internal: true},
	{ID: "RotateSubscriptionSecret", Method: "POST", Path: "/subscriptions/{subscriptionId}/rotate-secret", Internal: true},
	// The actions a flow needs (issue 24; DESIGN.md §8, third round).
	{ID: "SendNotification", Method: "POST", Path: "/rooms/{roomId}/notifications"},
	{ID: "ReplyToMessage", Method: "POST", Path: "/rooms/{roomId}/replies"},
	{ID: "SendPrivateMessage", Method: "POST", Path: "/users/{userId}/messages"},
	{ID: "ShareLinkWithRoom", Method: "POST", Path: "/rooms/{roomId}/links"},
	{ID: "ShareFileWithRoom", Method: "POST", Path: "/rooms/{roomId}/files"},
	{ID: "SetRoomTopic", Method: "PUT", Path: "/rooms/{roomId}/topic"},
	{ID: "CreateRoom", Method: "POST", Path: "/rooms"},
	{ID: "GetRoom", Method: "GET", Path: "/rooms/{roomId}"},
	{ID: "GetRecentMessages", Method: "GET", Path: "/rooms/{roomId}/messages"},
	{ID: "RemoveUserFromRoom", Method: "DELETE", Path: "/rooms/{roomId}/members/{userId}"},
	{ID: "InviteUserToRoom", Method: "POST", Path: "/rooms/{roomId}/invitations/{userId}"},
	{ID: "ListAllUsers", Method: "GET", Path: "/users", Internal: true},
	{ID: "TestConnection", Method: "GET", Path: "/connection", Internal: true},
}

// The parameter names of DESIGN.md §8 (plus the polling triggers' opaque state and the query of
// GetRecentMessages), and the body fields; the message triggers' filters are both (includeAtAll is
// the switch of mentions for @all and @here).
var (
	filterNames      = []string{"mentions", "includeAtAll", "keywords", "pattern", "from", "include"}
	pinnedParameters = append([]string{"roomId", "userId", "subscriptionId", "deliveryId", "state", "maxResults", "notBefore"}, filterNames...)
	pinnedBodyFields = append([]string{"message", "callbackUrl", "ordering", "maxPerSecond", "since",
		// the actions of issue 24
		"color", "messageFormat", "notify", "from", "attachTo", "card", "parentMessageId", "link", "fileName", "fileContent",
		"contentType", "topic", "name", "privacy", "guestAccess", "ownerUserId", "reason"}, filterNames...)
)

// doc is the embedded definition decoded loosely, for assertions on its content.
type doc = map[string]any

func embedded(t *testing.T) doc {
	t.Helper()
	var d doc
	require.NoError(t, json.Unmarshal(definitionJSON, &d))
	return d
}

// get walks d along keys; it fails the test when a step is missing.
func get(t *testing.T, d any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := d.(map[string]any)
		require.Truef(t, ok, "%s is not an object", strings.Join(keys[:i], "."))
		d, ok = m[k]
		require.Truef(t, ok, "%s is missing", strings.Join(keys[:i+1], "."))
	}
	return d
}

func has(d any, key string) bool {
	m, ok := d.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[key]
	return ok
}

// operation returns the operation object of id in d, with its path item.
func operation(t *testing.T, d doc, id string) (op, item map[string]any) {
	t.Helper()
	for _, want := range wantOperations {
		if want.ID == id {
			item := get(t, d, "paths", want.Path).(map[string]any)
			return get(t, item, strings.ToLower(want.Method)).(map[string]any), item
		}
	}
	t.Fatalf("operation %s is not in the table", id)
	return nil, nil
}

func parameters(op map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := op["parameters"].([]any)
	for _, p := range list {
		out = append(out, p.(map[string]any))
	}
	return out
}

func TestOperationsMatchTheSurface(t *testing.T) {
	got, err := Operations()
	require.NoError(t, err)
	want := slices.Clone(wantOperations)
	slices.SortFunc(want, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	assert.Equal(t, want, got)

	got[0].ID = "changed"
	again, err := Operations()
	require.NoError(t, err)
	assert.NotEqual(t, "changed", again[0].ID, "Operations must return a copy")
}

func TestRoutePath(t *testing.T) {
	for path, want := range map[string]string{
		"/rooms":                           "/rooms",
		"/rooms/{roomId}/members/{userId}": "/rooms/:roomId/members/:userId",
		"/subscriptions/{subscriptionId}/deliveries/{deliveryId}/resend": "/subscriptions/:subscriptionId/deliveries/:deliveryId/resend",
	} {
		assert.Equal(t, want, Operation{Path: path}.RoutePath())
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestParametersUsePinnedNames(t *testing.T) {
	d := embedded(t)
	for _, want := range wantOperations {
		t.Run(want.ID, func(t *testing.T) {
			op, _ := operation(t, d, want.ID)
			var inPath []string
			for _, m := range pathParam.FindAllStringSubmatch(want.Path, -1) {
				inPath = append(inPath, m[1])
			}
			var declaredPath []string
			for _, p := range parameters(op) {
				name, in := p["name"].(string), p["in"].(string)
				switch in {
				case "body":
					assert.Equal(t, true, p["required"], "the body is required")
					for field := range get(t, p, "schema", "properties").(map[string]any) {
						assert.Contains(t, pinnedBodyFields, field, "body field")
					}
					continue
				case "path":
					declaredPath = append(declaredPath, name)
					assert.Equal(t, true, p["required"], "path parameter %s must be required", name)
				}
				assert.Contains(t, pinnedParameters, name)
				if name == "roomId" {
					assert.Equal(t, map[string]any{
						"operationId": "ListRooms", "value-collection": "items", "value-path": "id", "value-title": "name",
					}, p["x-ms-dynamic-values"], "roomId picks from ListRooms")
					assert.Equal(t, "Room ID", p["x-ms-summary"])
				}
			}
			assert.ElementsMatch(t, inPath, declaredPath, "path parameters declared = path template")
		})
	}
}

func TestOperationsAreDocumented(t *testing.T) {
	d := embedded(t)
	seedSummaries := map[string]string{
		"ListUsers":     "List users in a room",
		"GetUserByID":   "Get user by Id",
		"PostMessage":   "Post message to a room",
		"AddUserToRoom": "Add a user to a room",
		"OnNewMessage":  "When a message is posted to a room",
		"OnNewFile":     "When a file is uploaded to a room",
		"OnNewRoom":     "When a new room is added",
	}
	for _, want := range wantOperations {
		op, _ := operation(t, d, want.ID)
		if s, ok := seedSummaries[want.ID]; ok {
			assert.Equal(t, s, op["summary"], want.ID)
		}
		assert.NotEmpty(t, op["summary"], want.ID)
		assert.NotEmpty(t, op["description"], want.ID)
		responses := get(t, op, "responses").(map[string]any)
		assert.False(t, has(responses["default"], "schema"), "%s: default must not have a schema", want.ID)
		for code, r := range responses {
			if code >= "400" {
				assert.Equal(t, map[string]any{"$ref": "#/definitions/Error"}, r.(map[string]any)["schema"],
					"%s %s: error responses carry the Error schema, so generated clients type them", want.ID, code)
			}
		}
		if r, ok := responses["429"]; ok {
			assert.True(t, has(get(t, r, "headers"), "Retry-After"), "%s: 429 documents Retry-After", want.ID)
		}
		assert.Contains(t, responses, "401", "%s: every operation needs the token", want.ID)
	}
}

func TestPollingTriggers(t *testing.T) {
	d := embedded(t)
	for id, schema := range map[string]string{"OnNewMessage": "HistoryResponse", "OnNewFile": "HistoryResponse", "OnNewRoom": "RoomList"} {
		t.Run(id, func(t *testing.T) {
			op, _ := operation(t, d, id)
			assert.NotEmpty(t, op["x-ms-trigger-hint"])
			assert.Contains(t, op["description"], "Split On")
			assert.Contains(t, op["description"], "@triggerBody()?['items']")
			assert.Equal(t, "#/definitions/"+schema, get(t, op, "responses", "200", "schema", "$ref"))
			for _, code := range []string{"200", "202"} {
				headers := get(t, op, "responses", code, "headers")
				assert.True(t, has(headers, "Location") && has(headers, "Retry-After"), "%s documents Location and Retry-After", code)
			}
			assert.False(t, has(get(t, op, "responses", "202"), "schema"), "202 carries nothing")
			assert.Contains(t, get(t, op, "responses"), "400", "a forged state is a 400")
			var state map[string]any
			for _, p := range parameters(op) {
				if p["name"] == "state" {
					state = p
				}
			}
			require.NotNil(t, state, "the state query parameter")
			assert.Equal(t, "query", state["in"])
			assert.Equal(t, "internal", state["x-ms-visibility"])
			assert.NotEqual(t, true, state["required"], "the first poll has no state")
		})
	}
}

func TestWebhookTriggers(t *testing.T) {
	d := embedded(t)
	for id, content := range map[string]string{"OnNewMessageWebhook": "HistoryItem", "OnNewFileWebhook": "HistoryItem", "OnNewRoomWebhook": "Room"} {
		t.Run(id, func(t *testing.T) {
			op, item := operation(t, d, id)
			assert.Equal(t, "#/definitions/"+content, get(t, item, "x-ms-notification-content", "schema", "$ref"))
			assert.True(t, has(get(t, op, "responses", "201", "headers"), "Location"), "201 + Location")
			// Issue 26: generated clients need the 201's body typed (its secret is shown only there);
			// the trigger's outputs stay the callback's body, x-ms-notification-content (above).
			assert.Equal(t, "#/definitions/Subscription", get(t, op, "responses", "201", "schema", "$ref"),
				"a client generated from the definition can read the subscription and its secret")
			var body map[string]any
			for _, p := range parameters(op) {
				if p["in"] == "body" {
					body = p
				}
			}
			require.NotNil(t, body)
			schema := get(t, body, "schema")
			assert.Contains(t, get(t, schema, "required"), "callbackUrl")
			callback := get(t, schema, "properties", "callbackUrl")
			assert.Equal(t, true, get(t, callback, "x-ms-notification-url"))
			assert.Equal(t, "internal", get(t, callback, "x-ms-visibility"))
			assert.Equal(t, "string", get(t, callback, "type"))
		})
	}
	op, _ := operation(t, d, "DeleteSubscription")
	assert.Contains(t, get(t, op, "responses"), "204")
}

func TestShapes(t *testing.T) {
	d := embedded(t)
	for def, fields := range map[string][]string{
		"HistoryItem":  {"id", "date", "message", "type", "from", "file", "mentions", "room_id"},
		"User":         {"id", "mention_name", "name"},
		"UserResponse": {"email", "id", "mention_name", "name"},
		"NewMessage":   {"id", "timestamp"},
		"Room":         {"id", "is_archived", "name", "privacy"},
		"Subscription": {"id", "kind", "room_id", "callback_url", "status", "status_reason", "created_at", "secret", "cursor", "health"},
		"Delivery":     {"id", "subscription_id", "status", "attempts"},
	} {
		props := get(t, d, "definitions", def, "properties")
		for _, f := range fields {
			assert.True(t, has(props, f), "%s.%s", def, f)
		}
	}
	for _, list := range []string{"HistoryResponse", "UserList", "RoomList", "SubscriptionList", "DeliveryList"} {
		assert.Equal(t, "array", get(t, d, "definitions", list, "properties", "items", "type"), list)
	}
	assert.Equal(t, "date-time", get(t, d, "definitions", "HistoryItem", "properties", "date", "format"))
	for _, f := range []string{"id", "mention_name", "name"} {
		assert.True(t, has(get(t, d, "definitions", "HistoryItem", "properties", "from", "properties"), f), "from.%s", f)
	}
	for _, f := range []string{"name", "url", "size", "thumb_url"} {
		assert.True(t, has(get(t, d, "definitions", "HistoryItem", "properties", "file", "properties"), f), "file.%s", f)
	}
	for _, f := range []string{"code", "message", "field"} {
		assert.True(t, has(get(t, d, "definitions", "Error", "properties", "error", "properties"), f), "error.%s", f)
	}
}

func TestEveryReferenceResolves(t *testing.T) {
	d := embedded(t)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/definitions/")
				assert.True(t, found && has(d["definitions"], name), "dangling $ref %s", ref)
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(d)
}

func TestSecurityIsTheTokenHeader(t *testing.T) {
	d := embedded(t)
	assert.Equal(t, map[string]any{"api_key": []any{}}, get(t, d, "security").([]any)[0])
	key := get(t, d, "securityDefinitions", "api_key")
	assert.Equal(t, "apiKey", get(t, key, "type"))
	assert.Equal(t, "header", get(t, key, "in"))
	assert.Equal(t, "Authorization", get(t, key, "name"))
}

func TestProperties(t *testing.T) {
	var props map[string]any
	require.NoError(t, json.Unmarshal(Properties(), &props))
	token := get(t, props, "properties", "connectionParameters", "api_key")
	assert.Equal(t, "securestring", get(t, token, "type"))
	assert.Equal(t, "true", get(t, token, "uiDefinition", "constraints", "required"))
	assert.Contains(t, get(t, token, "uiDefinition", "description"), "personal access token with all scopes selected")
	assert.NotEmpty(t, get(t, props, "properties", "iconBrandColor"))

	p := Properties()
	p[0] = 'x'
	assert.Equal(t, byte('{'), Properties()[0], "Properties must return a copy")
}

func TestDefinitionTakesHostFromThePublicURL(t *testing.T) {
	for _, tc := range []struct {
		url, host, basePath, scheme string
	}{
		{"https://connector.example.com", "connector.example.com", "/", "https"},
		{"https://connector.example.com/", "connector.example.com", "/", "https"},
		{"https://x.example.com:8443/hipchat/", "x.example.com:8443", "/hipchat", "https"},
		{"HTTPS://X.example.com/a/b", "X.example.com", "/a/b", "https"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "/", "http"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			out, err := Definition(tc.url)
			require.NoError(t, err)
			var got doc
			require.NoError(t, json.Unmarshal(out, &got))
			assert.Equal(t, tc.host, got["host"])
			assert.Equal(t, tc.basePath, got["basePath"])
			assert.Equal(t, []any{tc.scheme}, got["schemes"])

			want := embedded(t)
			for _, k := range []string{"host", "basePath", "schemes"} {
				delete(want, k)
				delete(got, k)
			}
			assert.Equal(t, want, got, "nothing else changes")
			assert.True(t, bytes.HasPrefix(out, []byte("{\n  \"swagger\": \"2.0\",")), "member order is kept")
		})
	}
}

func TestDefinitionOfThePlaceholderIsTheCommittedFile(t *testing.T) {
	out, err := Definition("https://connector.example.com")
	require.NoError(t, err)
	assert.Equal(t, string(definitionJSON), string(out),
		"the committed file is in canonical form (two-space indent, host connector.example.com)")
}

func TestDefinitionRejectsBadPublicURLs(t *testing.T) {
	for _, bad := range []string{
		"", "connector.example.com", "/relative/path", "//connector.example.com", "ftp://connector.example.com",
		"https://", "https:opaque", "https://user:pw@connector.example.com", "https://connector.example.com/?a=b",
		"https://connector.example.com/#frag", "https://connector.example.com/?", "https://bad host/", "https://[::1",
	} {
		_, err := Definition(bad)
		assert.ErrorIs(t, err, ErrPublicURL, "%q", bad)
		_, err = Handler(bad)
		assert.True(t, errors.Is(err, ErrPublicURL), "Handler(%q)", bad)
	}
}

func TestHandlerServesTheRenderedDefinition(t *testing.T) {
	h, err := Handler("https://x.example.com/base")
	require.NoError(t, err)
	want, err := Definition("https://x.example.com/base")
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/swagger.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, string(want), rec.Body.String())
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/swagger.json", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Body.String())

	req := httptest.NewRequest(http.MethodGet, "/swagger.json", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotModified, rec.Code)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/swagger.json", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}
