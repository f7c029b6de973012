package server

import (
	"context"
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

// topicInput is the input of the made-up actions below: a room and a topic from the body.
type topicInput struct{ room, topic string }

func (in topicInput) Validate() error {
	if strings.TrimSpace(in.room) == "" {
		return actions.MissingField(paramRoomID)
	}
	if in.topic == "" {
		return actions.MissingField("topic")
	}
	return nil
}

func bindTopic(r *request) (in topicInput, err error) {
	in.room = r.path(paramRoomID)
	body, err := r.body("topic", `{"topic":"Deploys"}`)
	if err != nil {
		return in, err
	}
	in.topic, err = body.optionalString("topic")
	return in, err
}

// serveRow serves row behind the token, as routes does, and sends it one request with body.
func serveRow(t *testing.T, row actionRoute, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	engine := gin.New()
	engine.Use(limitBody(1<<10, nil), requireConnection("http://hipchat.invalid", nil))
	engine.Handle(row.method, row.path, row.handler(nil, actionEnv{}))
	req := httptest.NewRequest(row.method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer a-token")
	rec := httptest.NewRecorder()
	engine.ServeHTTP(rec, req)
	return rec
}

func TestActionRowAnswersWithItsSuccessStatus(t *testing.T) {
	gin.SetMode(gin.TestMode)
	setTopic := func(_ context.Context, _ actions.HipChat, _ connector.Connection, in topicInput) (map[string]string, error) {
		return map[string]string{"room": in.room, "topic": in.topic}, nil
	}
	created := actionRoute{method: http.MethodPost, path: "/rooms/:roomId/topic", success: http.StatusCreated, run: runAction(setTopic, bindTopic)}
	rec := serveRow(t, created, "/rooms/%20Ops%20/topic", `{"topic":"Deploys"}`)
	assert.Equal(t, http.StatusCreated, rec.Code)
	assert.JSONEq(t, `{"room":"Ops","topic":"Deploys"}`, rec.Body.String(), "path parameters are trimmed, the body is as sent")

	noContent := created
	noContent.success = http.StatusNoContent
	rec = serveRow(t, noContent, "/rooms/Ops/topic", `{"topic":"Deploys"}`)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Body.String())
}

// A path parameter the action refuses is named before anything wrong with the body, which is what
// the handlers written by hand did: they read the path first.
func TestActionRowNamesAPathParameterBeforeTheBody(t *testing.T) {
	gin.SetMode(gin.TestMode)
	called := false
	row := actionRoute{method: http.MethodPut, path: "/rooms/:roomId/topic", success: http.StatusOK, notFound: subjectRoom,
		run: runAction(func(_ context.Context, _ actions.HipChat, _ connector.Connection, in topicInput) (string, error) {
			if err := in.Validate(); err != nil { // as every action does before its HipChat calls
				return "", err
			}
			called = true
			return "", nil
		}, bindTopic)}
	for name, tc := range map[string]struct {
		path, body          string
		status              int
		code, field, phrase string
	}{
		"blank room, body not JSON":  {"/rooms/%20/topic", "topic=x", 400, "missing_field", "roomId", "roomId is required"},
		"blank room, body too large": {"/rooms/%20/topic", `{"topic":"` + strings.Repeat("x", 2<<10) + `"}`, 400, "missing_field", "roomId", "roomId is required"},
		"blank room, no topic":       {"/rooms/%20/topic", `{}`, 400, "missing_field", "roomId", "roomId is required"},
		"body not JSON":              {"/rooms/Ops/topic", "topic=x", 400, "invalid_json", "topic", `such as {"topic":"Deploys"}`},
		"body too large":             {"/rooms/Ops/topic", `{"topic":"` + strings.Repeat("x", 2<<10) + `"}`, 413, "body_too_large", "", "1024 bytes"},
		"topic not a string":         {"/rooms/Ops/topic", `{"topic":7}`, 400, "invalid_field", "topic", "topic must be a string"},
		"no topic":                   {"/rooms/Ops/topic", `{}`, 400, "missing_field", "topic", "topic is required"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := serveRow(t, row, tc.path, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			var answer errorBody
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
			assert.Equal(t, tc.code, answer.Error.Code)
			assert.Equal(t, tc.field, answer.Error.Field)
			assert.Contains(t, answer.Error.Message, tc.phrase)
		})
	}
	assert.False(t, called, "no refused input gets past the action's validation")
}
