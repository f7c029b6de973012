package server

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// pollInterval is the Retry-After of a polling trigger with nothing more waiting: the seed's
// "1 trigger poll per 60 seconds".
const pollInterval = 60 * time.Second

// pollMaxItems caps one polling answer, so a backlog of thousands drains over a few quick polls.
const pollMaxItems = 100

// newPolling returns the polling triggers, their states signed with key (a random one when nil).
func newPolling(client *connector.Client, key []byte) (*triggers.Polling, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("making a state key: %w", err)
		}
	}
	codec, err := triggers.NewStateCodec(key)
	if err != nil {
		return nil, fmt.Errorf("polling triggers: %w", err)
	}
	return &triggers.Polling{Source: client, Users: client, Codec: codec, Interval: pollInterval, MaxItems: pollMaxItems}, nil
}

// handleMessagePoll serves the message-history polling triggers at /triggers/rooms/{roomId}/…:
// OnNewMessage and OnNewFile (their kind), OnMention and OnKeyword (messages, their filter fixed in
// part), each with the filter parameters of its query: 202 + baseline on the first poll, 200 + the
// items the filter keeps when new ones arrived, 202 when none did. Location (on publicURL, read per
// request since it is known only once the server is bound) carries the filter parameters and the
// next state, which is signed with the filter; Retry-After says when to come back. onFiltered counts
// the messages the filter left out.
//
// Errors: 400 naming the parameter for a filter refused (triggers.ParseFilter, a user HipChat does
// not know, me on a token of no user); 400 invalid_state for a state of another connection, room,
// trigger or filter; HipChat's errors (404 room_not_found, 401, 403, 429, 502/504).
func handleMessagePoll(p *triggers.Polling, trigger roomTrigger, publicURL func() string, onFiltered func(triggers.Kind, int)) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		room, err := roomParam(c)
		if err != nil {
			return err
		}
		params, err := filterFromQuery(c)
		if err != nil {
			return err
		}
		filter, err := trigger.filter(params)
		if err != nil {
			return toAPIError(err, subjectUnknown)
		}
		poll, err := p.Messages(c.Request.Context(), conn, trigger.kind, room, filter, c.Query("state"))
		if err != nil {
			return toAPIError(err, subjectRoom)
		}
		onFiltered(trigger.kind, poll.Filtered)
		writePoll(c, publicURL(), poll, filter.Query())
		return nil
	})
}

// handleRoomPoll serves OnNewRoom at /triggers/rooms, with the protocol of handleMessagePoll. It
// takes no filter: a filter parameter is a 400 naming it, rather than silently ignored.
func handleRoomPoll(p *triggers.Polling, publicURL func() string) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		params, err := filterFromQuery(c)
		if err != nil {
			return err
		}
		if _, err := onNewRoom.filter(params); err != nil {
			return toAPIError(err, subjectUnknown)
		}
		poll, err := p.Rooms(c.Request.Context(), conn, c.Query("state"))
		if err != nil {
			return toAPIError(err, subjectUnknown)
		}
		writePoll(c, publicURL(), poll, url.Values{})
		return nil
	})
}

// writePoll writes a poll's answer with an absolute Location on the same host and path, its query
// the trigger's parameters (query, in their checked form) and the state.
func writePoll(c *gin.Context, publicURL string, poll triggers.Poll, query url.Values) {
	query.Set("state", poll.State)
	location := strings.TrimRight(publicURL, "/") + c.Request.URL.EscapedPath() + "?" + query.Encode()
	c.Header("Location", location)
	c.Header("Retry-After", strconv.Itoa(int(poll.RetryAfter.Seconds())))
	if !poll.HasItems() {
		c.Status(http.StatusAccepted)
		return
	}
	c.JSON(http.StatusOK, poll.Items)
}
