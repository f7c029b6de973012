package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

// declaredMembers returns the properties the definition served at /swagger.json declares for the
// answer of operationID with status ($ref followed).
func declaredMembers(t *testing.T, c *connectorUnderTest, operationID, status string) map[string]bool {
	t.Helper()
	answer := c.do("GET", "/swagger.json", "", "")
	require.Equal(t, http.StatusOK, answer.Status)
	var d struct {
		Paths       map[string]map[string]json.RawMessage `json:"paths"`
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"definitions"`
	}
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &d))
	for _, item := range d.Paths {
		for _, raw := range item {
			var op struct {
				OperationID string `json:"operationId"`
				Responses   map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"responses"`
			}
			if json.Unmarshal(raw, &op) != nil || op.OperationID != operationID {
				continue
			}
			ref := op.Responses[status].Schema.Ref
			def, ok := d.Definitions[strings.TrimPrefix(ref, "#/definitions/")]
			require.True(t, ok, "%s %s answers a schema of the definitions (%q)", operationID, status, ref)
			out := map[string]bool{}
			for name := range def.Properties {
				out[name] = true
			}
			return out
		}
	}
	t.Fatalf("no operation %s in /swagger.json", operationID)
	return nil
}

// undeclared returns the members of a JSON object answer that declared lacks, sorted.
func undeclared(t *testing.T, body string, declared map[string]bool) []string {
	t.Helper()
	var got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &got), body)
	var out []string
	for name := range got {
		if !declared[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Through serve, what an operation answers is what the definition declares for it: the designer offers
// a declared member as a token of the action's output (a member it does not declare is not offered),
// and a client generated from the definition types only those. GetUserByID answers HipChat's title,
// timezone and the user's flags; GetSubscription (and the other answers of a Subscription) shows how the
// poller reads the token's feeds (poll) and whether push rings for the room (push), as the README says.
func TestAnswersCarryOnlyDeclaredMembers(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-poll-schedule", "@every 1s", "-allow-private-callbacks")
	auth := bearerHeader(w.annToken)

	user := c.do("GET", "/users/@bob", auth, "")
	require.Equal(t, http.StatusOK, user.Status, user.Body)
	assert.Empty(t, undeclared(t, user.Body, declaredMembers(t, c, "GetUserByID", "200")), "GetUserByID: %s", user.Body)

	sub := c.subscribeTo(w.annToken, fmt.Sprintf("/subscriptions/rooms/%d/messages", w.publicRoom), map[string]any{}, testkit.NewSink(t, nil))
	var view connectorAnswer
	require.Eventually(t, func() bool {
		view = c.do("GET", "/subscriptions/"+sub, auth, "")
		return strings.Contains(view.Body, `"poll":`) && strings.Contains(view.Body, `"push":`)
	}, 30*time.Second, 50*time.Millisecond, "the poller's first tick")
	require.Equal(t, http.StatusOK, view.Status, view.Body)
	assert.Empty(t, undeclared(t, view.Body, declaredMembers(t, c, "GetSubscription", "200")), "GetSubscription: %s", view.Body)
}
