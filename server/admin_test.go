package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/server"
	"github.com/hipchat-connector/hipchat-connector/state"
)

const operatorToken = "operator-credential-for-the-tests"

func TestOperatorRoutesAreAbsentWithoutTheCredential(t *testing.T) {
	e := newEnv(t, true)
	for _, route := range []string{"GET /admin/backup", "GET /admin/subscriptions", "POST /admin/subscriptions/x/pause"} {
		method, path, _ := strings.Cut(route, " ")
		resp := e.call(method, path, operatorToken, nil)
		assert.Equal(t, http.StatusNotFound, resp.Status, route)
		code, _ := resp.errorCode(t)
		assert.Equal(t, server.CodeRouteNotFound, code, "as if absent: %s", route)
	}
}

func TestOperatorRoutesRefuseAnyOtherCredential(t *testing.T) {
	e := newEnvWith(t, true, operatorToken)
	for _, token := range []string{"", e.alice.Token, operatorToken + "x", operatorToken[:10]} {
		resp := e.call("GET", "/admin/subscriptions", token, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.Status, token)
		code, _ := resp.errorCode(t)
		assert.Equal(t, server.CodeAdminTokenRejected, code)
	}
}

func TestOperatorListsEveryConnectionsSubscriptionsAndPausesAny(t *testing.T) {
	e := newEnvWith(t, true, operatorToken)
	room := e.room("Ops")
	alices := e.subscribe(e.alice.Token, "messages", room)
	bobs := e.subscribe(e.bob.Token, "", "")

	var list server.AdminSubscriptionList
	resp := e.call("GET", "/admin/subscriptions", operatorToken, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	resp.json(t, &list)
	require.Len(t, list.Items, 2)
	ids := map[string]string{}
	for _, item := range list.Items {
		ids[item.ID] = item.ConnectionID
		assert.Empty(t, item.Secret)
		assert.NotEmpty(t, item.Location)
	}
	assert.Equal(t, connOf(e, e.alice.Token), ids[alices.ID])
	assert.Equal(t, connOf(e, e.bob.Token), ids[bobs.ID])
	for _, secret := range []string{alices.Secret, bobs.Secret, e.alice.Token, e.bob.Token} {
		assert.NotContains(t, string(resp.Body), secret, "never a token or secret")
	}

	// Pause Bob's as the operator: the same semantics as Bob's own pause.
	resp = e.call("POST", "/admin/subscriptions/"+bobs.ID+"/pause", operatorToken, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var paused server.AdminSubscription
	resp.json(t, &paused)
	assert.Equal(t, state.StatusPaused, paused.Status)
	assert.Contains(t, paused.StatusReason, "paused by an operator")

	resp = e.call("GET", "/admin/subscriptions?status=paused", operatorToken, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	list = server.AdminSubscriptionList{}
	resp.json(t, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, bobs.ID, list.Items[0].ID)

	var own server.Subscription
	e.call("GET", "/subscriptions/"+bobs.ID, e.bob.Token, nil).json(t, &own)
	assert.Equal(t, state.StatusPaused, own.Status, "Bob sees the operator's pause")

	resp = e.call("POST", "/admin/subscriptions/"+bobs.ID+"/resume", operatorToken, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	resp.json(t, &paused)
	assert.Equal(t, state.StatusActive, paused.Status)

	resp = e.call("GET", "/admin/subscriptions?status=sleeping", operatorToken, nil)
	assert.Equal(t, http.StatusBadRequest, resp.Status)
	code, field := resp.errorCode(t)
	assert.Equal(t, []string{server.CodeInvalidField, "status"}, []string{code, field})

	resp = e.call("POST", "/admin/subscriptions/no-such/pause", operatorToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.Status)
	code, _ = resp.errorCode(t)
	assert.Equal(t, server.CodeSubscriptionNotFound, code)

	require.NoError(t, e.store.SetStatus(alices.ID, state.StatusDisabled, "410"))
	resp = e.call("POST", "/admin/subscriptions/"+alices.ID+"/resume", operatorToken, nil)
	assert.Equal(t, http.StatusConflict, resp.Status, "a disabled one is final, for the operator too")
}

func TestOperatorBackupIsAConsistentDatabase(t *testing.T) {
	e := newEnvWith(t, true, operatorToken)
	room := e.room("Ops")
	sub := e.subscribe(e.alice.Token, "messages", room)

	resp := e.call("GET", "/admin/backup", operatorToken, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	assert.Equal(t, strconv.Itoa(len(resp.Body)), resp.Header.Get("Content-Length"))
	assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")

	path := filepath.Join(t.TempDir(), "backup.db")
	require.NoError(t, os.WriteFile(path, resp.Body, 0o600))
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		assert.NotNil(t, tx.Bucket([]byte("subscriptions")).Get([]byte(sub.ID)), "the subscription is in the copy")
		return nil
	}))
	require.NoError(t, db.Close())
}
