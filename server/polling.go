package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"crypto/rand"
	"fmt"
	"time"

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
	return &triggers.Polling{Source: client, Codec: codec, Interval: pollInterval, MaxItems: pollMaxItems}, nil
}

// handleMessagePoll serves OnNewMessage (kind KindMessage) or OnNewFile (KindFile) at
// /triggers/rooms/{roomId}/…: 202 + baseline on the first poll, 200 + items when new ones arrived,
// 202 when nothing did; Location (on publicURL, read per request since it is known only once the
// server is bound) carries the next state, Retry-After says when to come back.
func handleMessagePoll(p *triggers.Polling, kind triggers.Kind, publicURL func() string) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		room, err := pathParam(c, paramRoomID)
		if err != nil {
			return err
		}
		poll, err := p.Messages(c.Request.Context(), conn, kind, room, c.Query("state"))
		if err != nil {
			return toAPIError(err, subjectRoom)
		}
		writePoll(c, publicURL(), poll)
		return nil
	})
}

// handleRoomPoll serves OnNewRoom at /triggers/rooms, with the protocol of HandleMessagePoll.
func handleRoomPoll(p *triggers.Polling, publicURL func() string) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		poll, err := p.Rooms(c.Request.Context(), conn, c.Query("state"))
		if err != nil {
			return toAPIError(err, subjectUnknown)
		}
		writePoll(c, publicURL(), poll)
		return nil
	})
}

// writePoll writes a poll's answer with an absolute Location on the same host and path.
func writePoll(c *gin.Context, publicURL string, poll triggers.Poll) {
	location := strings.TrimRight(publicURL, "/") + c.Request.URL.EscapedPath() + "?state=" + url.QueryEscape(poll.State)
	c.Header("Location", location)
	c.Header("Retry-After", strconv.Itoa(int(poll.RetryAfter.Seconds())))
	if !poll.HasItems() {
		c.Status(http.StatusAccepted)
		return
	}
	c.JSON(http.StatusOK, poll.Items)
}
