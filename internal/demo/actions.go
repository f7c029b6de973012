package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The actions the demo runs through the connector, so that a newcomer sees a few of them at work: a
// reply under Bob's message, the room's topic and a green notification with a card. Each prints
// one line beside the deliveries it causes.

// callAction calls the connector's action at method and path with token and a JSON body. Errors: a
// failed call or any answer but 2xx, with its body.
func callAction(ctx context.Context, connectorURL, token, method, path string, body any) error {
	encoded, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, connectorURL+path, bytes.NewReader(encoded))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10)) // for the error only
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, answer)
	}
	return nil
}

// sayAction prints the line of an action the script ran through the connector.
func (s *script) sayAction(operationID, what string) {
	fmt.Fprintf(s.out, "%s  %-19s  %-12s  %s  (an action, through the connector)\n", time.Now().Format(time.TimeOnly), operationID, roomName, what)
}

// replyToBob is Ann answering Bob's message through ReplyToMessage.
func (s *script) replyToBob(ctx context.Context, w seeded, parentID string, round int) error {
	text := fmt.Sprintf("@bob checked deploy #%d: all green", round)
	err := callAction(ctx, w.connector, w.ann.Token, http.MethodPost, "/rooms/"+strconv.Itoa(w.room)+"/replies",
		map[string]string{"parentMessageId": parentID, "message": text})
	if err == nil {
		s.sayAction("ReplyToMessage", fmt.Sprintf("%s replied to %s: %q", w.ann.Name, w.bob.Name, text))
	}
	return err
}

// setTopic is Ann putting the release in the room's topic through SetRoomTopic.
func (s *script) setTopic(ctx context.Context, w seeded, round int) error {
	topic := fmt.Sprintf("release %d is out: notes attached", round)
	err := callAction(ctx, w.connector, w.ann.Token, http.MethodPut, "/rooms/"+strconv.Itoa(w.room)+"/topic", map[string]string{"topic": topic})
	if err == nil {
		s.sayAction("SetRoomTopic", fmt.Sprintf("%s set the topic to %q", w.ann.Name, topic))
	}
	return err
}

// notifyBuild is a CI integration, with Bob's token, posting a green build notification with an
// application card through SendNotification.
func (s *script) notifyBuild(ctx context.Context, w seeded, round int) error {
	err := callAction(ctx, w.connector, w.bob.Token, http.MethodPost, "/rooms/"+strconv.Itoa(w.room)+"/notifications", map[string]any{
		"message": fmt.Sprintf("build #%d passed", round), "color": "green", "from": "CI",
		"card": map[string]any{"style": "application", "format": "compact", "title": fmt.Sprintf("Build #%d", round),
			"description": "all tests green", "url": fmt.Sprintf("https://ci.example.com/builds/%d", round),
			"attributes": []map[string]string{{"label": "branch", "value": "main", "style": "lozenge-success"}}},
	})
	if err == nil {
		s.sayAction("SendNotification", fmt.Sprintf("CI sent a green notification with a card: \"Build #%d\"", round))
	}
	return err
}
