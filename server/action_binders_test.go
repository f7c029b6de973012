package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

// rowOf returns the action table's row of operation id.
func rowOf(t *testing.T, id string) actionRoute {
	t.Helper()
	for _, row := range actionTable {
		if row.operationID == id {
			return row
		}
	}
	t.Fatalf("no row %s", id)
	return actionRoute{}
}

// serveTableRow serves row as the server does, limits included, behind a HipChat that must not be
// called: every request here is refused before any HipChat call.
func serveTableRow(t *testing.T, row actionRoute, env actionEnv, method, target, body string) (int, errorBody) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	engine := gin.New()
	engine.Use(limitBody(1<<10, actionBodyLimits(Options{MaxFileBytes: env.maxFileBytes})), requireConnection("http://hipchat.invalid", nil))
	engine.Handle(row.method, row.path, row.handler(noHipChat{t: t}, env))
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer a-token")
	rec := httptest.NewRecorder()
	engine.ServeHTTP(rec, req)
	var answer errorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &answer)
	return rec.Code, answer
}

// noHipChat fails the test on the HipChat calls of the rows served here (and panics on the others,
// which embedding a nil actions.HipChat leaves unimplemented).
type noHipChat struct {
	actions.HipChat
	t *testing.T
}

func (h noHipChat) called() { h.t.Error("HipChat was called for a refused input") }
func (h noHipChat) SendNotification(context.Context, connector.Connection, string, connector.Notification) error {
	h.called()
	return nil
}
func (h noHipChat) ShareFile(context.Context, connector.Connection, string, connector.SharedFile) error {
	h.called()
	return nil
}
func (h noHipChat) RecentMessages(context.Context, connector.Connection, string, string, int) ([]connector.Message, error) {
	h.called()
	return nil, nil
}
func (h noHipChat) SetTopic(context.Context, connector.Connection, string, string) error {
	h.called()
	return nil
}

func TestBindersNameTheMemberOfTheWrongType(t *testing.T) {
	notify := rowOf(t, "SendNotification")
	for name, tc := range map[string]struct {
		body, field, phrase string
	}{
		"notify not a bool":          {`{"message":"hi","notify":"yes"}`, "notify", "notify must be true or false"},
		"color not a string":         {`{"message":"hi","color":3}`, "color", "color must be a string"},
		"card not an object":         {`{"message":"hi","card":"green"}`, "card", "card must be an object"},
		"card member misspelt":       {`{"message":"hi","card":{"style":"link","thumbnailUrl":"https://x"}}`, "card.thumbnailUrl", "card.thumbnailUrl is not a member of card"},
		"card member of wrong type":  {`{"message":"hi","card":{"style":"link","title":7}}`, "card.title", "card.title must be a string"},
		"attribute of wrong type":    {`{"message":"hi","card":{"attributes":[{"value":3}]}}`, "card.attributes.value", "card.attributes.value must be a string"},
		"attributes not a list":      {`{"message":"hi","card":{"attributes":{}}}`, "card.attributes", "card.attributes must be a list"},
		"card refused by the action": {`{"message":"hi","card":{"style":"link","title":"docs"}}`, "card.description", "card.description is required for a card of style link"},
	} {
		t.Run(name, func(t *testing.T) {
			status, answer := serveTableRow(t, notify, actionEnv{}, "POST", "/rooms/1/notifications", tc.body)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tc.field, answer.Error.Field)
			assert.Contains(t, answer.Error.Message, tc.phrase)
		})
	}

	recent := rowOf(t, "GetRecentMessages")
	status, answer := serveTableRow(t, recent, actionEnv{}, "GET", "/rooms/1/messages?maxResults=ten", "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, errorDetail{Code: CodeInvalidField, Field: "maxResults", Message: "maxResults must be a whole number, such as 75"}, answer.Error)
	status, answer = serveTableRow(t, recent, actionEnv{}, "GET", "/rooms/1/messages?maxResults=0", "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "maxResults is 0; it must be between 1 and 1000", answer.Error.Message)

	topic := rowOf(t, "SetRoomTopic")
	status, answer = serveTableRow(t, topic, actionEnv{}, "PUT", "/rooms/1/topic", `{}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, errorDetail{Code: CodeMissingField, Field: "topic", Message: `topic is required (send "" to clear the topic)`}, answer.Error)
}

// A file share's body may be as large as its largest file in base64, past the server's body limit;
// a file over the limit is a 400 naming fileContent whether the action or the body limit finds it.
func TestShareFileBodyLimitIsTheFileLimit(t *testing.T) {
	row := rowOf(t, "ShareFileWithRoom")
	env := actionEnv{maxFileBytes: 4 << 10, uploads: newUploadBudget(4 << 10)}
	body := func(size int) string {
		return `{"fileName":"a.bin","fileContent":"` + base64.StdEncoding.EncodeToString(make([]byte, size)) + `"}`
	}
	require.Greater(t, len(body(4<<10)), 1<<10, "the file's body is larger than the server's body limit")
	status, answer := serveTableRow(t, row, env, "POST", "/rooms/1/files", body(4<<10+1))
	assert.Equal(t, http.StatusBadRequest, status, "the action refuses a file just over the limit")
	assert.Equal(t, errorDetail{Code: CodeFieldTooLong, Field: "fileContent",
		Message: "fileContent holds 4097 bytes; the largest file shared is 4096 bytes (4 KiB)"}, answer.Error)

	status, answer = serveTableRow(t, row, env, "POST", "/rooms/1/files", body(64<<10))
	assert.Equal(t, http.StatusBadRequest, status, "a body past the row's limit is a file over the limit, not a 413")
	assert.Equal(t, errorDetail{Code: CodeFieldTooLong, Field: "fileContent",
		Message: "fileContent holds more than the largest file shared, 4096 bytes (4 KiB)"}, answer.Error)

	status, answer = serveTableRow(t, row, env, "POST", "/rooms/1/files", `{"fileName":"a.txt","fileContent":"not base64!"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "fileContent", answer.Error.Field)

	notify := rowOf(t, "SendNotification")
	status, answer = serveTableRow(t, notify, env, "POST", "/rooms/1/notifications", `{"message":"`+strings.Repeat("x", 2<<10)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, "other rows keep the server's body limit")
	assert.Equal(t, CodeBodyTooLarge, answer.Error.Code)
}

func TestUploadBudgetBoundsTheFileSharesInFlight(t *testing.T) {
	budget := newUploadBudget(1 << 20)
	largest := budget.bodyLimit
	var releases []func()
	for range uploadsOfTheLargest / 2 {
		release, err := budget.acquire("ann", largest)
		require.NoError(t, err)
		releases = append(releases, release)
	}
	_, err := budget.acquire("ann", 1)
	var refused *apiError
	require.ErrorAs(t, err, &refused, "a connection takes at most half of the budget")
	assert.Equal(t, http.StatusTooManyRequests, refused.Status)
	assert.Equal(t, CodeRateLimited, refused.Code)
	assert.Positive(t, refused.RetryAfter)

	for range uploadsOfTheLargest / 2 {
		release, err := budget.acquire("bob", largest)
		require.NoError(t, err, "another connection is not held back by Ann's")
		releases = append(releases, release)
	}
	_, err = budget.acquire("carol", 1)
	require.Error(t, err, "the whole budget is taken")

	releases[0]()
	releases[0]() // releasing twice frees its bytes once
	for range 100 {
		release, err := budget.acquire("carol", largest/100)
		require.NoError(t, err, "small files share what one large file frees")
		defer release()
	}
	_, err = budget.acquire("dave", largest/100+1)
	require.Error(t, err)
}

func TestUploadBudgetCountsABodyByItsLength(t *testing.T) {
	budget := newUploadBudget(1 << 20)
	small := httptest.NewRequest("POST", "/rooms/1/files", strings.NewReader("{}"))
	assert.EqualValues(t, 2, budget.costOf(small))
	chunked := httptest.NewRequest("POST", "/rooms/1/files", strings.NewReader("{}"))
	chunked.ContentLength = -1
	assert.Equal(t, budget.bodyLimit, budget.costOf(chunked), "a body of unknown length counts as the largest")
}

// HipChat's 403 names the scope a call needs; when it does not, the row's scope is named instead.
func TestA403NamesTheRowsScope(t *testing.T) {
	row := rowOf(t, "SetRoomTopic")
	bare := &connector.Error{Kind: connector.KindScopeMissing, Status: 403, Message: "Forbidden"}
	assert.Equal(t, "the token lacks the HipChat scope admin_room, which this call requires; generate a token with it (or with all scopes selected)",
		row.toAPIError(bare).Message)
	named := &connector.Error{Kind: connector.KindScopeMissing, Status: 403, Message: "This action requires one of the following scopes: [u'manage_rooms']"}
	assert.Contains(t, row.toAPIError(named).Message, "manage_rooms", "HipChat's own word wins")
	assert.Equal(t, http.StatusForbidden, row.toAPIError(bare).Status)
}
