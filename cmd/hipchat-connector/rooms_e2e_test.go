package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

// Through serve: a subscription made by the room's name and one made by its id receive the same
// message with the same numeric room_id and the room's name, and show them alike; the polling
// trigger given the name answers the same.
func TestARoomByNameAndByIDDeliversTheSameRoomID(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-poll-schedule", "@every 1s", "-allow-private-callbacks")
	sink := testkit.NewSink(t, nil)
	byName := c.subscribeTo(w.annToken, "/subscriptions/rooms/"+url.PathEscape("General")+"/messages", map[string]any{}, sink)
	byID := c.subscribeTo(w.annToken, fmt.Sprintf("/subscriptions/rooms/%d/messages", w.publicRoom), map[string]any{}, sink)
	app := newLogicApp(t, c, w.annToken, "/triggers/rooms/General/messages")
	require.Equal(t, http.StatusAccepted, app.poll())

	posted := w.postMessages(w.publicRoom, 1, "deploy")
	require.Eventually(t, func() bool {
		accepted := sink.Accepted()
		return len(accepted[byName]) == 1 && len(accepted[byID]) == 1
	}, 30*time.Second, 20*time.Millisecond, "both subscriptions receive the message")

	type room struct {
		ID   int    `json:"room_id"`
		Name string `json:"room_name"`
	}
	want := room{ID: w.publicRoom, Name: "General"}
	for _, r := range sink.Requests() {
		require.NoError(t, r.VerifyErr)
		var got room
		require.NoError(t, json.Unmarshal(r.Body, &got))
		assert.Equal(t, want, got, "delivery to %s", r.Sub)
		assert.Equal(t, posted[0], r.Item)
	}
	for given, id := range map[string]string{"General": byName, strconv.Itoa(w.publicRoom): byID} {
		answer := c.do("GET", "/subscriptions/"+id, bearerHeader(w.annToken), "")
		require.Equal(t, http.StatusOK, answer.Status, answer.Body)
		var view struct {
			Room string `json:"room"`
			room
		}
		require.NoError(t, json.Unmarshal([]byte(answer.Body), &view))
		assert.Equal(t, given, view.Room, "as given")
		assert.Equal(t, want, view.room, "GetSubscription of the one made with %q", given)
	}

	answer := c.do("GET", app.next[len(c.URL):], w.annToken, "")
	require.Equal(t, http.StatusOK, answer.Status, answer.Body)
	var polled struct{ Items []room }
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &polled))
	assert.Equal(t, []room{want}, polled.Items, "the polling trigger given the name")
}

// Through serve: a polling trigger and a subscription whose room was given by its name (as the
// definition's Room ID invites: "enter its id or its name") keep firing after the room is renamed in
// HipChat. Both resolved the room's id when they started; reading the room by the old name instead
// answers 404 room_not_found on every poll for ever (the polling trigger) or reads nothing while the
// subscription still says active (the webhook trigger).
func TestARoomGivenByNameStillTriggersAfterItIsRenamed(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-poll-schedule", "@every 1s", "-allow-private-callbacks", "-push=false")
	sink := testkit.NewSink(t, nil)
	sub := c.subscribeTo(w.annToken, "/subscriptions/rooms/General/messages", map[string]any{}, sink)
	app := newLogicApp(t, c, w.annToken, "/triggers/rooms/General/messages")
	require.Equal(t, http.StatusAccepted, app.poll())

	w.sim.mustCall("PUT", fmt.Sprintf("/v2/room/%d", w.publicRoom), w.annToken, map[string]any{
		"name": "General Renamed", "privacy": "public", "is_archived": false, "is_guest_accessible": false,
		"topic": "", "owner": map[string]any{"id": w.annID},
	}, nil)
	posted := w.postMessages(w.publicRoom, 1, "after the rename")

	require.Equal(t, http.StatusOK, app.poll(), "the polling trigger given the room's old name")
	assert.Equal(t, posted, app.runs)
	require.Eventually(t, func() bool { return len(sink.Accepted()[sub]) == 1 }, 30*time.Second, 20*time.Millisecond,
		"the subscription made with the room's old name delivers the message")
	assert.Equal(t, posted, sink.Accepted()[sub])
}
