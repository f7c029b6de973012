package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestFromUpstreamMapsEveryKind(t *testing.T) {
	for name, tc := range map[string]struct {
		err     error
		subject NotFoundSubject
		status  int
		code    string
		field   string
		message string
	}{
		"token rejected": {&connector.Error{Kind: connector.KindTokenRejected, Status: 401, Message: "Invalid OAuth session"}, SubjectUnknown, 401, CodeTokenRejected, "", "HipChat rejected the token"},
		"scope missing":  {&connector.Error{Kind: connector.KindScopeMissing, Status: 403}, SubjectUnknown, 403, CodeScopeMissing, "", "scope"},
		"room 404":       {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "Room not found"}, SubjectRoom, 404, CodeRoomNotFound, "roomId", "Room not found"},
		"user 404":       {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "User not found"}, SubjectUser, 404, CodeUserNotFound, "userId", "User not found"},
		"which 404 user": {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "User nobody not found"}, SubjectRoomOrUser, 404, CodeUserNotFound, "userId", "User nobody"},
		"which 404 room": {&connector.Error{Kind: connector.KindNotFound, Status: 404, Message: "Room users-lounge not found"}, SubjectRoomOrUser, 404, CodeRoomNotFound, "roomId", "Room users-lounge"},
		"other 404":      {&connector.Error{Kind: connector.KindNotFound, Status: 404}, SubjectUnknown, 404, CodeNotFound, "", "not found"},
		"bad request":    {&connector.Error{Kind: connector.KindBadRequest, Status: 400, Message: "This room is public"}, SubjectRoom, 400, CodeBadRequest, "", "HipChat: This room is public"},
		"local 429":      {&connector.Error{Kind: connector.KindRateLimited, Local: true, RetryAfter: time.Second}, SubjectUnknown, 429, CodeRateLimited, "", "budget"},
		"hipchat 429":    {&connector.Error{Kind: connector.KindRateLimited, Status: 429, RetryAfter: time.Second}, SubjectUnknown, 429, CodeRateLimited, "", "HipChat is throttling"},
		"5xx":            {&connector.Error{Kind: connector.KindUnavailable, Status: 500, Message: "boom at 10.0.0.3"}, SubjectUnknown, 502, CodeUpstreamFailed, "", "HipChat failed"},
		"timeout":        {&connector.Error{Kind: connector.KindUnavailable, Cause: timeoutErr{}}, SubjectUnknown, 504, CodeUpstreamTimeout, "", "in time"},
		"canceled":       {context.Canceled, SubjectUnknown, 499, CodeCanceled, "", "cancelled"},
		"internal":       {errors.New("disk on fire at /var/secret"), SubjectUnknown, 500, CodeInternal, "", "the connector failed"},
		"api error kept": {MissingField("roomId"), SubjectUser, 400, CodeMissingField, "roomId", "roomId is required"},
	} {
		t.Run(name, func(t *testing.T) {
			e := FromUpstream(tc.err, tc.subject)
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
		assert.Equal(t, want, RetryAfterSeconds(d), d.String())
	}
}

func TestWriteErrorWritesTheOneShape(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	const token = "s3cr3t-token-value"
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/rooms", nil)
	SetConnection(c, connector.NewConnection(token, "https://api.hipchat.com"))

	WriteError(c, FromUpstream(&connector.Error{Kind: connector.KindBadRequest, Status: 400,
		Message: "token " + token + " cannot do that"}, SubjectUnknown))

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
	WriteError(c, &connector.Error{Kind: connector.KindRateLimited, Local: true, RetryAfter: 1500 * time.Millisecond})
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), `"code":"rate_limited"`)
}
