package server

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/swagger"
)

// pendingOperations are the operations of the definition that no route serves yet. This is the one
// place that lists them: remove an id when its handler lands in routes.go.
var pendingOperations = map[string]bool{}

// serviceRoutes are the routes that are not operations of the definition.
var serviceRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /swagger.json",
	"POST /hipchat/rooms/:feed/:secret"} // HipChat's room webhooks: push doorbells

func TestRoutesAreTheOperationsOfTheDefinition(t *testing.T) {
	ops, err := swagger.Operations()
	require.NoError(t, err)
	want := append([]string(nil), serviceRoutes...)
	ids := map[string]bool{}
	for _, op := range ops {
		ids[op.ID] = true
		if !pendingOperations[op.ID] {
			want = append(want, op.Method+" "+op.RoutePath())
		}
	}
	for id := range pendingOperations {
		assert.True(t, ids[id], "pending operation %s is not in the definition any more", id)
	}

	srv, err := New(Options{}, testDeps())
	require.NoError(t, err)
	var got []string
	for _, r := range srv.engine.Routes() {
		got = append(got, r.Method+" "+r.Path)
	}
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "routes.go and the definition disagree (a served operation must leave pendingOperations)")
}
