package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An operator who pastes the operator credential where a HipChat token goes (the console's token
// field, a flow's connection) is told so, with 401 operator_credential, and the credential goes
// nowhere: not to HipChat (no request reaches it) and not back in the answer. HipChat tokens and
// the operator routes work as before.
func TestTheOperatorCredentialIsNoHipChatToken(t *testing.T) {
	const credential = "operator-credential-4f1c9a7be2d0"
	e := newEnvWith(t, true, credential)
	room := e.room("Guarded")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/connection", ""}, // the console's sign-in
		{"GET", "/rooms", ""},
		{"POST", "/rooms/" + room + "/messages", `{"message":"hello"}`},
		{"GET", "/triggers/rooms/" + room + "/messages", ""},
		{"POST", "/subscriptions/rooms/" + room + "/messages", `{"callbackUrl":"` + e.sink.url() + `"}`},
		{"GET", "/subscriptions", ""},
	} {
		for form, authorization := range map[string]string{"bearer": "Bearer " + credential, "bare": credential} {
			t.Run(tc.method+" "+tc.path+" "+form, func(t *testing.T) {
				before := e.upstream.Load()
				var body io.Reader
				if tc.body != "" {
					body = bytes.NewBufferString(tc.body)
				}
				req, err := http.NewRequestWithContext(e.ctx, tc.method, e.api.URL+tc.path, body)
				require.NoError(t, err)
				req.Header.Set("Authorization", authorization)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				raw, err := io.ReadAll(resp.Body)
				require.NoError(t, err)

				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, string(raw))
				var answer struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(raw, &answer), string(raw))
				assert.Equal(t, "operator_credential", answer.Error.Code)
				assert.Contains(t, answer.Error.Message, "this is the operator credential, not a HipChat token")
				assert.NotContains(t, string(raw), credential, "the credential is never echoed")
				assert.Equal(t, before, e.upstream.Load(), "no request reached HipChat")
			})
		}
	}

	assert.Equal(t, http.StatusOK, e.call("GET", "/rooms", e.alice.Token, nil).Status, "a HipChat token works")
	assert.Equal(t, http.StatusOK, e.call("GET", "/admin/subscriptions", credential, nil).Status, "the operator routes take the credential")
}
