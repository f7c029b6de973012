package hipchatsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// glanceBody is an add-on UI update of one glance.
func glanceBody(key string, content any) map[string]any {
	return map[string]any{"glance": []any{map[string]any{"key": key, "content": content}}}
}

// roomGlances reads GET /_sim/room/{room}/glances.
func (s *sim) roomGlances(room string) []map[string]any {
	s.t.Helper()
	var answer struct {
		Glances []map[string]any `json:"glances"`
	}
	require.NoError(s.t, json.Unmarshal(s.must(200, "GET", "/_sim/room/"+room+"/glances", "", nil).body, &answer))
	return answer.Glances
}

// TestAddonUIUpdates: an add-on pushes glance updates to a room, the group, a user in a room and a
// user (204 each); the side channel shows, per room, the latest update of every glance that applies
// to it; other tokens get 403, unknown rooms and users 404.
func TestAddonUIUpdates(t *testing.T) {
	s, hc := newPushSim(t)
	ctx := context.Background()
	addon, err := hc.AddonToken(ctx, pushClientID, pushClientSecret, "")
	require.NoError(t, err)
	s.createRoom("ann-token", "Ops", "public")
	s.createRoom("ann-token", "Dev", "public")

	builds := map[string]any{"label": map[string]any{"type": "html", "value": "<b>4</b> builds"},
		"status": map[string]any{"type": "lozenge", "value": map[string]any{"type": "success", "label": "GREEN"}}}
	s.must(204, "POST", "/v2/addon/ui/room/Ops", addon, glanceBody("builds", builds))
	s.clock.Advance(time.Minute)
	builds["status"] = map[string]any{"type": "lozenge", "value": map[string]any{"type": "error", "label": "RED"}}
	s.must(204, "POST", "/v2/addon/ui/room/Ops", addon, glanceBody("builds", builds))
	s.clock.Advance(time.Minute)
	incidents := map[string]any{"label": map[string]any{"type": "text", "value": "2 open incidents"},
		"status":   map[string]any{"type": "icon", "value": map[string]any{"url": "https://example.com/i.png", "url@2x": "https://example.com/i2.png"}},
		"metadata": map[string]any{"open": 2}}
	s.must(204, "POST", "/v2/addon/ui", addon, glanceBody("incidents", incidents))
	s.clock.Advance(time.Minute)
	tasks := map[string]any{"label": map[string]any{"type": "html", "value": "3 tasks for you"}}
	s.must(204, "POST", "/v2/addon/ui/room/Ops/user/@bob", addon, glanceBody("tasks", tasks))
	s.must(204, "POST", "/v2/addon/ui/user/@ann", addon, glanceBody("inbox", tasks))

	ops := s.roomGlances("Ops")
	require.Len(t, ops, 3, "%v", ops)
	require.Equal(t, "tasks", ops[0]["key"], "newest first")
	require.Equal(t, "user_in_room", ops[0]["scope"])
	require.Equal(t, "bob", ops[0]["user"].(map[string]any)["mention_name"])
	require.Equal(t, "incidents", ops[1]["key"])
	require.Equal(t, "group", ops[1]["scope"])
	require.Equal(t, "builds", ops[2]["key"])
	require.Equal(t, "room", ops[2]["scope"])
	require.Equal(t, map[string]any{"client_id": pushClientID, "name": "Push Add-on"}, ops[2]["addon"])
	got, _ := json.Marshal(ops[2]["content"])
	want, _ := json.Marshal(builds)
	require.JSONEq(t, string(want), string(got), "the latest update replaces the earlier one")
	require.Equal(t, "2018-01-10T09:36:50.702319Z", ops[2]["updated"])

	dev := s.roomGlances("Dev")
	require.Len(t, dev, 1, "only the group's glance applies to Dev")
	require.Equal(t, "incidents", dev[0]["key"])

	for _, tc := range []struct {
		name, token, path string
		status            int
		message           string
	}{
		{"a user token", "ann-token", "/v2/addon/ui/room/Ops", 403, "This method is only accessible by add-ons"},
		{"the admin's token", s.admin, "/v2/addon/ui", 403, "This method is only accessible by add-ons"},
		{"no token", "", "/v2/addon/ui", 401, ""},
		{"unknown room", addon, "/v2/addon/ui/room/Nowhere", 404, "Room Nowhere not found"},
		{"unknown user", addon, "/v2/addon/ui/user/@nobody", 404, "User @nobody not found"},
		{"unknown user in a room", addon, "/v2/addon/ui/room/Ops/user/@nobody", 404, "User @nobody not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).do("POST", tc.path, tc.token, glanceBody("builds", tasks))
			require.Equal(t, tc.status, r.status, string(r.body))
			if tc.message != "" {
				require.Equal(t, tc.message, r.errorMessage(t))
			}
		})
	}
	s.must(404, "GET", "/_sim/room/Nowhere/glances", "", nil)
	require.Len(t, s.roomGlances("Ops"), 3, "refused updates change nothing")
}

// TestAddonUIValidation: a glance update is refused with a 400 naming the field's path, in
// HipChat's validator texts.
func TestAddonUIValidation(t *testing.T) {
	s, hc := newPushSim(t)
	addon, err := hc.AddonToken(context.Background(), pushClientID, pushClientSecret, "")
	require.NoError(t, err)
	s.createRoom("ann-token", "Ops", "public")
	label := `"label":{"type":"html","value":"ok"}`
	for _, tc := range []struct {
		name, body, field, validation, message string
	}{
		{"no glance", `{}`, "glance", "optional", "Required field 'glance' is missing"},
		{"glance not a list", `{"glance":{"key":"k"}}`, "glance", "type", ""},
		{"no glances", `{"glance":[]}`, "glance", "minLength", "Length of value [] for field 'glance' must be greater than or equal to 1"},
		{"a glance not an object", `{"glance":["k"]}`, "glance[0]", "type", "Value u'k' for field 'glance[0]' is not of type 'object'"},
		{"no key", `{"glance":[{"content":{` + label + `}}]}`, "glance[0].key", "optional", "Required field 'key' is missing"},
		{"key too long", `{"glance":[{"key":"` + strings.Repeat("k", 41) + `","content":{` + label + `}}]}`, "glance[0].key", "maxLength", ""},
		{"no content", `{"glance":[{"key":"k"}]}`, "glance[0].content", "optional", ""},
		{"no label", `{"glance":[{"key":"k","content":{}}]}`, "glance[0].content.label", "optional", "Required field 'label' is missing"},
		{"label type unknown", `{"glance":[{"key":"k","content":{"label":{"type":"markdown","value":"x"}}}]}`, "glance[0].content.label.type", "enum",
			"Value u'markdown' for field 'type' is not in the enumeration: ['html', 'text']"},
		{"label without value", `{"glance":[{"key":"k","content":{"label":{"type":"html"}}}]}`, "glance[0].content.label.value", "optional", ""},
		{"label value a number", `{"glance":[{"key":"k","content":{"label":{"type":"html","value":4}}}]}`, "glance[0].content.label.value", "type",
			"Value 4 for field 'value' is not of type 'string'"},
		{"status type unknown", `{"glance":[{"key":"k","content":{` + label + `,"status":{"type":"badge","value":{}}}}]}`, "glance[0].content.status.type", "enum", ""},
		{"lozenge type unknown", `{"glance":[{"key":"k","content":{` + label + `,"status":{"type":"lozenge","value":{"type":"warning","label":"x"}}}}]}`,
			"glance[0].content.status.value.type", "enum", ""},
		{"lozenge without label", `{"glance":[{"key":"k","content":{` + label + `,"status":{"type":"lozenge","value":{"type":"new"}}}}]}`,
			"glance[0].content.status.value.label", "optional", ""},
		{"icon without url@2x", `{"glance":[{"key":"k","content":{` + label + `,"status":{"type":"icon","value":{"url":"https://x/i.png"}}}}]}`,
			"glance[0].content.status.value.url@2x", "optional", ""},
		{"status without value", `{"glance":[{"key":"k","content":{` + label + `,"status":{"type":"icon"}}}]}`, "glance[0].content.status.value", "optional", ""},
		{"metadata not an object", `{"glance":[{"key":"k","content":{` + label + `,"metadata":"x"}}]}`, "glance[0].content.metadata", "type", ""},
		{"second glance bad", `{"glance":[{"key":"a","content":{` + label + `}},{"key":"b"}]}`, "glance[1].content", "optional", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.with(t).do("POST", "/v2/addon/ui/room/Ops", addon, tc.body)
			require.Equal(t, http.StatusBadRequest, r.status, string(r.body))
			e := r.json(t)["error"].(map[string]any)
			require.Equal(t, tc.field, e["field"], string(r.body))
			require.Equal(t, tc.validation, e["validation"], string(r.body))
			if tc.message != "" {
				require.Equal(t, tc.message, e["message"])
			}
		})
	}
	require.Empty(t, s.roomGlances("Ops"), "a refused body changes no glance, not even its valid first glance")
}
