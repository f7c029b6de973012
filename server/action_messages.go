package server

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// NewMessage is PostMessage's answer: the posted message's id and HipChat's timestamp (ISO-8601).
type NewMessage struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
}

// handlePostMessage handles POST /rooms/{roomId}/messages (operation PostMessage) with the JSON body
// {"message":"…"}: posts the message to the room as the token's user. Errors, all before any HipChat
// call: 400 missing_field for a blank roomId or message, 400 invalid_json for a body that is not a JSON
// object, 400 invalid_field for a message that is not a string, 400 field_too_long for a message over
// MaxMessageLength characters, 413 body_too_large past the server's body limit. From HipChat: 404
// room_not_found, 400 bad_request, 401, 403, 429, 502/504. HipChat posts are never retried.
func handlePostMessage(client *connector.Client) gin.HandlerFunc {
	return withConnection(func(c *gin.Context, conn connector.Connection) error {
		room, err := pathParam(c, paramRoomID)
		if err != nil {
			return err
		}
		message, err := readMessage(c.Request)
		if err != nil {
			return err
		}
		posted, err := client.PostMessage(c.Request.Context(), conn, room, message)
		if err != nil {
			return toAPIError(err, subjectRoom)
		}
		c.JSON(http.StatusOK, NewMessage{ID: posted.ID, Timestamp: posted.Timestamp})
		return nil
	})
}

// readMessage reads and checks PostMessage's body and returns the message as sent (not trimmed).
func readMessage(r *http.Request) (string, error) {
	message, err := readStringField(r, paramMessage, `{"message":"Hello"}`)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(message); n > MaxMessageLength {
		return "", invalidField(paramMessage, CodeFieldTooLong,
			"message is "+strconv.Itoa(n)+" characters long; HipChat takes at most "+strconv.Itoa(MaxMessageLength))
	}
	return message, nil
}
