package triggers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/server/httpapi"
)

// codeInvalidState is the error code of a state that is not this connection's state of this trigger.
const codeInvalidState = "invalid_state"

// HandleMessagePoll serves OnNewMessage (kind KindMessage) or OnNewFile (KindFile) at
// /triggers/rooms/{roomId}/…: 202 + baseline on the first poll, 200 + items when new ones arrived,
// 202 when nothing did; Location (on publicURL, read per request since it is known only once the
// server is bound) carries the next state, Retry-After says when to come back.
func HandleMessagePoll(p *Polling, kind Kind, publicURL func() string) gin.HandlerFunc {
	return func(c *gin.Context) {
		conn, _ := httpapi.Connection(c)
		room := strings.TrimSpace(c.Param("roomId"))
		if room == "" {
			httpapi.WriteError(c, httpapi.MissingField("roomId"))
			return
		}
		poll, err := p.Messages(c.Request.Context(), conn, kind, room, c.Query("state"))
		if err != nil {
			httpapi.WriteError(c, pollError(err, httpapi.SubjectRoom))
			return
		}
		writePoll(c, publicURL(), poll)
	}
}

// HandleRoomPoll serves OnNewRoom at /triggers/rooms, with the protocol of HandleMessagePoll.
func HandleRoomPoll(p *Polling, publicURL func() string) gin.HandlerFunc {
	return func(c *gin.Context) {
		conn, _ := httpapi.Connection(c)
		poll, err := p.Rooms(c.Request.Context(), conn, c.Query("state"))
		if err != nil {
			httpapi.WriteError(c, pollError(err, httpapi.SubjectUnknown))
			return
		}
		writePoll(c, publicURL(), poll)
	}
}

// pollError names the state parameter in the answer to a refused state.
func pollError(err error, subject httpapi.NotFoundSubject) error {
	for _, stateErr := range []error{ErrStateMalformed, ErrStateForged, ErrStateVersion, ErrStateConnection, ErrStateTarget} {
		if errors.Is(err, stateErr) {
			return httpapi.InvalidField("state", codeInvalidState, stateErr.Error()+"; start over by polling without state")
		}
	}
	return httpapi.FromUpstream(err, subject)
}

// writePoll writes a poll's answer with an absolute Location on the same host and path.
func writePoll(c *gin.Context, publicURL string, poll Poll) {
	location := strings.TrimRight(publicURL, "/") + c.Request.URL.EscapedPath() + "?state=" + url.QueryEscape(poll.State)
	c.Header("Location", location)
	c.Header("Retry-After", strconv.Itoa(int(poll.RetryAfter.Seconds())))
	if poll.Status != http.StatusOK {
		c.Status(poll.Status)
		return
	}
	c.JSON(http.StatusOK, poll.Body)
}
