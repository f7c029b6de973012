package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestActions runs each action's handler over real HTTP in front of the emulator: its answer, and
// the code and field of each refusal a flow may branch on.
func TestActions(t *testing.T) {
	e := newEnv(t, false)
	public := e.room("Lobby")
	privateID, err := e.sim.CreateRoom(e.ctx, e.alice.Token, "Ops", "private")
	require.NoError(t, err)
	private := strconv.Itoa(privateID)
	readOnly, err := e.sim.PasswordToken(e.ctx, e.alice.Email, e.alice.Password, "view_group view_messages")
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		method, path, token string
		body                any
		status              int
		code, field         string // for an error answer
		contains            string // in the body
	}{
		"ListRooms":                  {"GET", "/rooms", e.alice.Token, nil, 200, "", "", `"name":"Ops"`},
		"ListUsers":                  {"GET", "/rooms/" + private + "/members", e.alice.Token, nil, 200, "", "", `"mention_name":"alice"`},
		"ListUsers public room":      {"GET", "/rooms/" + public + "/members", e.alice.Token, nil, 400, "bad_request", "", "HipChat: "},
		"ListUsers scope named":      {"GET", "/rooms/" + private + "/members", readOnly, nil, 403, "scope_missing", "", "view_room"},
		"ListUsers unknown room":     {"GET", "/rooms/99999/members", e.alice.Token, nil, 404, "room_not_found", "roomId", ""},
		"GetUserByID":                {"GET", "/users/@bob", e.alice.Token, nil, 200, "", "", `"mention_name":"bob"`},
		"GetUserByID unknown":        {"GET", "/users/@nobody", e.alice.Token, nil, 404, "user_not_found", "userId", ""},
		"PostMessage":                {"POST", "/rooms/" + public + "/messages", e.alice.Token, map[string]string{"message": "hello"}, 200, "", "", `"timestamp"`},
		"PostMessage no message":     {"POST", "/rooms/" + public + "/messages", e.alice.Token, map[string]string{}, 400, "missing_field", "message", ""},
		"PostMessage too long":       {"POST", "/rooms/" + public + "/messages", e.alice.Token, map[string]string{"message": strings.Repeat("x", 1001)}, 400, "field_too_long", "message", ""},
		"PostMessage not JSON":       {"POST", "/rooms/" + public + "/messages", e.alice.Token, "message=hi", 400, "invalid_json", "message", ""},
		"AddUserToRoom":              {"PUT", "/rooms/" + private + "/members/@bob", e.alice.Token, nil, 200, "", "", "bob"},
		"AddUserToRoom scope named":  {"PUT", "/rooms/" + private + "/members/@bob", readOnly, nil, 403, "scope_missing", "", "admin_room"},
		"AddUserToRoom unknown user": {"PUT", "/rooms/" + private + "/members/@nobody", e.alice.Token, nil, 404, "user_not_found", "userId", ""},
		"no token":                   {"GET", "/rooms", "", nil, 401, "missing_token", "", ""},
		"rejected token":             {"GET", "/rooms", "not-a-token", nil, 401, "token_rejected", "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.call(tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, resp.Status, string(resp.Body))
			if tc.code != "" {
				code, field := resp.errorCode(t)
				assert.Equal(t, tc.code, code)
				assert.Equal(t, tc.field, field)
			}
			assert.Contains(t, string(resp.Body), tc.contains)
		})
	}
}
