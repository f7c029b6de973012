package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestToAPIErrorMapsEveryKind(t *testing.T) {
	for name, tc := range map[string]struct {
		err     error
		subject notFoundSubject
		status  int
		code    string
		field   string
		message string
	}{
		"token rejected":   {&connector.Error{Kind: connector.KindTokenRejected, Status: 401, Message: "Invalid OAuth session"}, subjectUnknown, 401, CodeTokenRejected, "", "HipChat rejected the token"},
		"scope missing":    {&connector.Error{Kind: connector.KindScopeMissing, Status: 403}, subjectUnknown, 403, CodeScopeMissing, "", "scope"},
		"room 404":         {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "Room not found"}, subjectRoom, 404, CodeRoomNotFound, "roomId", "Room not found"},
		"user 404":         {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "User not found"}, subjectUser, 404, CodeUserNotFound, "userId", "User not found"},
		"which 404 user":   {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "User nobody not found"}, subjectRoomOrUser, 404, CodeUserNotFound, "userId", "User nobody"},
		"which 404 room":   {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "Room users-lounge not found"}, subjectRoomOrUser, 404, CodeRoomNotFound, "roomId", "Room users-lounge"},
		"other 404":        {&connector.Error{Kind: connector.KindNotFound, Status: 404}, subjectUnknown, 404, CodeNotFound, "", "not found"},
		"bad request":      {&connector.Error{Kind: connector.KindBadRequest, Status: 400, Message: "This room is public"}, subjectRoom, 400, CodeBadRequest, "", "HipChat: This room is public"},
		"local 429":        {&connector.Error{Kind: connector.KindRateLimited, Local: true, RetryAfter: time.Second}, subjectUnknown, 429, CodeRateLimited, "", "the connector's budget"},
		"held for HipChat": {&connector.Error{Kind: connector.KindRateLimited, Local: true, Budget: connector.BudgetHipChat, RetryAfter: time.Second}, subjectUnknown, 429, CodeRateLimited, "", "HipChat's own rate limit"},
		"flood control":    {&connector.Error{Kind: connector.KindRateLimited, Status: 429, Budget: connector.BudgetFloodControl, RetryAfter: time.Second}, subjectUnknown, 429, CodeRateLimited, "", "flood control"},
		"scope named":      {&connector.Error{Kind: connector.KindScopeMissing, Status: 403, Message: "This action requires one of the following scopes: [u'view_room']"}, subjectUnknown, 403, CodeScopeMissing, "", "scope view_room"},
		"hipchat 429":      {&connector.Error{Kind: connector.KindRateLimited, Status: 429, RetryAfter: time.Second}, subjectUnknown, 429, CodeRateLimited, "", "HipChat is throttling"},
		"5xx":              {&connector.Error{Kind: connector.KindUnavailable, Status: 500, Message: "boom at 10.0.0.3"}, subjectUnknown, 502, CodeUpstreamFailed, "", "HipChat failed"},
		"timeout":          {&connector.Error{Kind: connector.KindUnavailable, Cause: timeoutErr{}}, subjectUnknown, 504, CodeUpstreamTimeout, "", "in time"},
		"canceled":         {context.Canceled, subjectUnknown, 499, CodeCanceled, "", "cancelled"},
		"internal":         {errors.New("disk on fire at /var/secret"), subjectUnknown, 500, CodeInternal, "", "the connector failed"},
		"api error kept":   {missingField("roomId"), subjectUser, 400, CodeMissingField, "roomId", "roomId is required"},
		"store cannot":     {fmt.Errorf("%w: back it up with etcdctl snapshot save", state.ErrUnsupported), subjectUnknown, 501, CodeNotSupported, "", "back it up with etcdctl"},
	} {
		t.Run(name, func(t *testing.T) {
			e := toAPIError(tc.err, tc.subject)
			assert.Equal(t, tc.status, e.Status)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.field, e.Field)
			assert.Contains(t, e.Message, tc.message)
			assert.NotContains(t, e.Message, "10.0.0.3", "5xx text of HipChat is not echoed")
			assert.NotContains(t, e.Message, "/var/secret", "internal error text is not echoed")
		})
	}
}

func TestRetryAfterSecondsRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "1", time.Millisecond: "1", time.Second: "1", time.Second + time.Millisecond: "2",
		61*time.Second + time.Millisecond: "62", 5 * time.Minute: "300",
	} {
		assert.Equal(t, want, retryAfterSeconds(d), d.String())
	}
}

func TestWriteErrorWritesTheOneShape(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	const token = "s3cr3t-token-value"
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/rooms", nil)
	setConnection(c, connector.NewConnection(token, "https://api.hipchat.com"))

	writeError(c, toAPIError(&connector.Error{Kind: connector.KindBadRequest, Status: 400,
		Message: "token " + token + " cannot do that"}, subjectUnknown))

	assert.True(t, c.IsAborted())
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.NotContains(t, w.Body.String(), token, "the token never reaches an answer")
	var body struct {
		Error map[string]string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	assert.Equal(t, CodeBadRequest, body.Error["code"])
	assert.Equal(t, "HipChat: token [token] cannot do that", body.Error["message"])
	_, hasField := body.Error["field"]
	assert.False(t, hasField, "field is left out when no parameter is at fault")
	require.Len(t, c.Errors, 1, "the cause is kept for the access log")
}

func TestWriteErrorSetsRetryAfterOn429(t *testing.T) {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/rooms", nil)
	writeError(c, &connector.Error{Kind: connector.KindRateLimited, Local: true, RetryAfter: 1500 * time.Millisecond})
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), `"code":"rate_limited"`)
}
