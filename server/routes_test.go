package server

import (
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/swagger"
)

// pendingOperations are the operations of the definition that no route serves yet. This is the one
// place that lists them: remove an id when its handler lands in routes.go (or its row in actionTable).
var pendingOperations = map[string]bool{}

// serviceRoutes are the routes that are not operations of the definition.
var serviceRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /swagger.json",
	"POST /hipchat/rooms/:feed/:secret",   // HipChat's room webhooks: push doorbells
	"GET /console", "GET /console/*asset"} // the console page and its assets (server/console)

// operatorPrefixes start the routes that are not operations of the definition either: the
// operator's (the operator credential, not a HipChat token). Only these are left out of the
// comparison, and only explicitly.
var operatorPrefixes = []string{"/admin/"}

// operatorRoutes are the operator routes, served only with an operator credential.
var operatorRoutes = []string{"GET /admin/backup", "GET /admin/subscriptions",
	"POST /admin/subscriptions/:subscriptionId/pause", "POST /admin/subscriptions/:subscriptionId/resume"}

func isOperatorRoute(path string) bool {
	for _, p := range operatorPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

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

	deps := testDeps()
	store := &fakeOperatorStore{}
	deps.Store, deps.Operator = store, store
	srv, err := New(Options{AdminToken: "an-operator-credential-of-some-length"}, deps)
	require.NoError(t, err)
	var got, operator []string
	for _, r := range srv.engine.Routes() {
		if r.Method == "HEAD" {
			continue // the twin of a GET route (TestEveryGetRouteAnswersHead)
		}
		if isOperatorRoute(r.Path) {
			operator = append(operator, r.Method+" "+r.Path)
			continue
		}
		got = append(got, r.Method+" "+r.Path)
	}
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "routes.go and the definition disagree (a served operation must leave pendingOperations)")
	assert.ElementsMatch(t, operatorRoutes, operator)
	for _, op := range ops {
		assert.False(t, isOperatorRoute(op.RoutePath()), "%s: an operation of the definition under an operator prefix", op.ID)
	}

	without, err := New(Options{}, testDeps())
	require.NoError(t, err)
	for _, r := range without.engine.Routes() {
		assert.False(t, isOperatorRoute(r.Path), "%s %s is served without an operator credential", r.Method, r.Path)
	}
}

// fakeOperatorStore satisfies the store interfaces for a server whose routes are only listed.
type fakeOperatorStore struct{ SubscriptionStore }

func (*fakeOperatorStore) AllSubscriptions(state.Status) ([]state.Subscription, error) {
	return nil, nil
}
func (*fakeOperatorStore) BackupSized(func(int64), io.Writer) (int64, error) { return 0, nil }

// Each row of the action table serves the operation it names, at the definition's method and path,
// and every action a designer sees goes through the table.
func TestActionTableRowsAreTheDefinitionsActions(t *testing.T) {
	ops, err := swagger.Operations()
	require.NoError(t, err)
	byID := map[string]swagger.Operation{}
	for _, op := range ops {
		byID[op.ID] = op
	}
	rows := map[string]bool{}
	for _, row := range actionTable {
		assert.False(t, rows[row.operationID], "%s has two rows", row.operationID)
		rows[row.operationID] = true
		op, ok := byID[row.operationID]
		if !assert.True(t, ok, "%s is not an operation of the definition", row.operationID) {
			continue
		}
		assert.Equal(t, op.Method+" "+op.RoutePath(), row.method+" "+row.path, row.operationID)
		assert.Empty(t, op.Trigger, "%s is a trigger, not an action", row.operationID)
		assert.NotNil(t, row.run, row.operationID)
		assert.Contains(t, []int{200, 201, 202, 204}, row.success, row.operationID)
	}
	for _, op := range ops {
		if op.Trigger == "" && !op.Internal {
			assert.True(t, rows[op.ID], "the action %s is not a row of the action table", op.ID)
		}
	}
}

// Every GET route, whatever registered it (a service route, the console, an action row, a trigger,
// an operator route), answers HEAD with the same handlers: Gin maps no HEAD by itself.
func TestEveryGetRouteAnswersHead(t *testing.T) {
	deps := testDeps()
	store := &fakeOperatorStore{}
	deps.Store, deps.Operator = store, store
	srv, err := New(Options{AdminToken: "an-operator-credential-of-some-length"}, deps)
	require.NoError(t, err)
	byMethod := map[string][]string{}
	for _, r := range srv.engine.Routes() {
		byMethod[r.Method] = append(byMethod[r.Method], r.Path)
	}
	require.NotEmpty(t, byMethod["GET"])
	assert.ElementsMatch(t, byMethod["GET"], byMethod["HEAD"], "the GET routes and the HEAD routes")
}
