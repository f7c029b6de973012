package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The actions of issue 24, each end to end through serve over real HTTP against the emulator.

// roomHistory is the newest items of a room as HipChat (the emulator) returns them.
type roomHistory struct {
	Items []struct {
		ID       string  `json:"id"`
		Type     string  `json:"type"`
		Message  *string `json:"message"`
		Color    string  `json:"color"`
		Card     string  `json:"card"`
		AttachTo string  `json:"attach_to"`
		From     any     `json:"from"`
		File     *struct {
			Name string `json:"name"`
			Size int    `json:"size"`
			URL  string `json:"url"`
		} `json:"file"`
	} `json:"items"`
}

func (w *world) history(t *testing.T, room string) roomHistory {
	t.Helper()
	var h roomHistory
	w.sim.mustCall("GET", "/v2/room/"+room+"/history/latest", w.annToken, nil, &h)
	require.NotEmpty(t, h.Items, "room %s has no history", room)
	return h
}

// decode reads a JSON answer into out, failing on any other status than want.
func decode(t *testing.T, a connectorAnswer, want int, out any) {
	t.Helper()
	require.Equal(t, want, a.Status, a.Body)
	require.NoError(t, json.Unmarshal([]byte(a.Body), out), a.Body)
}

func TestServeTheActionsAFlowNeeds(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL)
	auth := bearerHeader(w.annToken)
	public, private := strconv.Itoa(w.publicRoom), strconv.Itoa(w.privateRoom)

	t.Run("SendNotification with a card", func(t *testing.T) {
		var done struct{ Summary string }
		decode(t, c.do("POST", "/rooms/"+public+"/notifications", auth, `{"message":"build #7 passed","color":"green","from":"CI","notify":true,
			"card":{"style":"application","title":"Build #7","description":"all 212 tests green","url":"https://ci.example.com/7",
			        "format":"compact","attributes":[{"label":"branch","value":"main","style":"lozenge-success"}]}}`), http.StatusOK, &done)
		assert.Equal(t, "Notification sent to room "+public+" with an application card", done.Summary)
		last := w.history(t, public).Items
		item := last[len(last)-1]
		assert.Equal(t, "notification", item.Type)
		assert.Equal(t, "green", item.Color)
		assert.Equal(t, "CI", item.From, "a notification's from is its label")
		var card map[string]any
		require.NoError(t, json.Unmarshal([]byte(item.Card), &card))
		assert.Equal(t, "Build #7", card["title"])
		assert.Equal(t, map[string]any{"value": "all 212 tests green", "format": "text"}, card["description"])
	})

	t.Run("ReplyToMessage", func(t *testing.T) {
		parent, err := w.sim.client.PostMessage(t.Context(), w.bobToken, public, "who broke the build?")
		require.NoError(t, err)
		var done struct{ Summary string }
		decode(t, c.do("POST", "/rooms/"+public+"/replies", auth, mustJSON(map[string]string{"parentMessageId": parent, "message": "nobody, it is green"})), http.StatusOK, &done)
		items := w.history(t, public).Items
		assert.Equal(t, "nobody, it is green", *items[len(items)-1].Message)
	})

	t.Run("SendPrivateMessage", func(t *testing.T) {
		var done struct{ Summary string }
		decode(t, c.do("POST", "/users/@bob/messages", auth, `{"message":"you are on call tonight","notify":true}`), http.StatusOK, &done)
		assert.Equal(t, "Private message sent to @bob", done.Summary)
		var chat roomHistory
		w.sim.mustCall("GET", "/v2/user/@ann/history/latest", w.bobToken, nil, &chat)
		require.NotEmpty(t, chat.Items)
		assert.Equal(t, "you are on call tonight", *chat.Items[len(chat.Items)-1].Message)
	})

	t.Run("ShareLinkWithRoom", func(t *testing.T) {
		a := c.do("POST", "/rooms/"+public+"/links", auth, `{"link":"https://status.example.com/7","message":"the incident"}`)
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		items := w.history(t, public).Items
		assert.Contains(t, *items[len(items)-1].Message, "https://status.example.com/7")
	})

	t.Run("ShareFileWithRoom", func(t *testing.T) {
		content := []byte("release 1.2\n- faster\n")
		var shared struct {
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Size        int    `json:"size"`
		}
		decode(t, c.do("POST", "/rooms/"+public+"/files", auth, mustJSON(map[string]string{"fileName": "notes.txt",
			"fileContent": base64.StdEncoding.EncodeToString(content), "message": "the notes"})), http.StatusOK, &shared)
		assert.Equal(t, len(content), shared.Size)
		assert.Equal(t, "text/plain; charset=utf-8", shared.ContentType, "from the name's extension")
		items := w.history(t, public).Items
		file := items[len(items)-1].File
		require.NotNil(t, file)
		assert.Equal(t, "notes.txt", file.Name)
		resp, err := http.Get(file.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, content, got, "the bytes reached HipChat as they were")
	})

	t.Run("CreateRoom, SetRoomTopic, GetRoom", func(t *testing.T) {
		var room struct {
			ID      int    `json:"id"`
			Name    string `json:"name"`
			Privacy string `json:"privacy"`
			Links   struct {
				Self string `json:"self"`
			} `json:"links"`
		}
		decode(t, c.do("POST", "/rooms", auth, `{"name":"Launch Crew","privacy":"private","topic":"day one"}`), http.StatusCreated, &room)
		assert.Equal(t, "Launch Crew", room.Name)
		assert.Equal(t, "private", room.Privacy)
		assert.Equal(t, w.sim.URL+"/v2/room/"+strconv.Itoa(room.ID), room.Links.Self)

		a := c.do("PUT", "/rooms/Launch%20Crew/topic", auth, `{"topic":"T-minus 3 days"}`)
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		var details struct {
			Topic             string `json:"topic"`
			ParticipantsCount *int   `json:"participants_count"`
			Owner             struct {
				MentionName string `json:"mention_name"`
			} `json:"owner"`
			Created string `json:"created"`
		}
		decode(t, c.do("GET", "/rooms/"+strconv.Itoa(room.ID), auth, ""), http.StatusOK, &details)
		assert.Equal(t, "T-minus 3 days", details.Topic)
		assert.Equal(t, "ann", details.Owner.MentionName)
		require.NotNil(t, details.ParticipantsCount)
		assert.NotEmpty(t, details.Created)
	})

	t.Run("GetRecentMessages", func(t *testing.T) {
		for i := range 3 {
			_, err := w.sim.client.PostMessage(t.Context(), w.bobToken, private, fmt.Sprintf("line %d", i))
			require.NoError(t, err)
		}
		var recent struct {
			Items []struct {
				Message string `json:"message"`
				RoomID  int    `json:"room_id"`
				From    struct {
					MentionName string `json:"mention_name"`
				} `json:"from"`
			} `json:"items"`
		}
		decode(t, c.do("GET", "/rooms/"+private+"/messages?maxResults=2", auth, ""), http.StatusOK, &recent)
		require.Len(t, recent.Items, 2)
		assert.Equal(t, "line 1", recent.Items[0].Message, "oldest first")
		assert.Equal(t, "line 2", recent.Items[1].Message)
		assert.Equal(t, private, strconv.Itoa(recent.Items[1].RoomID), "HipChat's numeric id")
		assert.Equal(t, "bob", recent.Items[1].From.MentionName)
	})

	t.Run("RemoveUserFromRoom and InviteUserToRoom", func(t *testing.T) {
		a := c.do("DELETE", "/rooms/"+private+"/members/@bob", auth, "")
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		members := c.do("GET", "/rooms/"+private+"/members", auth, "")
		assert.NotContains(t, members.Body, `"mention_name":"bob"`)

		a = c.do("POST", "/rooms/"+public+"/invitations/@carol", auth, `{"reason":"the launch is here"}`)
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		assert.Contains(t, c.do("GET", "/rooms/"+public, auth, "").Body, `"mention_name":"carol"`, "Carol is in the room")
	})

	t.Run("ListAllUsers is the user picker", func(t *testing.T) {
		var users struct {
			Items []struct {
				ID          int    `json:"id"`
				DisplayName string `json:"display_name"`
			} `json:"items"`
		}
		decode(t, c.do("GET", "/users", auth, ""), http.StatusOK, &users)
		names := map[int]string{}
		for _, u := range users.Items {
			names[u.ID] = u.DisplayName
		}
		assert.Equal(t, "Carol Example (@carol)", names[w.carolID])
		assert.Equal(t, "Bob Example (@bob)", names[w.bobID])
	})

	t.Run("TestConnection", func(t *testing.T) {
		var info struct {
			User struct {
				MentionName string `json:"mention_name"`
			} `json:"user"`
			MissingScopes []string `json:"missing_scopes"`
		}
		decode(t, c.do("GET", "/connection", auth, ""), http.StatusOK, &info)
		assert.Equal(t, "ann", info.User.MentionName)
		assert.Empty(t, info.MissingScopes)
		rejected := c.do("GET", "/connection", bearerHeader("no-such-token-0123456789"), "")
		assert.Equal(t, http.StatusUnauthorized, rejected.Status)
		code, _, _ := rejected.errorBody()
		assert.Equal(t, "token_rejected", code)
		assert.Equal(t, http.StatusUnauthorized, c.do("GET", "/connection", "", "").Status)
	})

	assertNoToken(t, c, w.annToken, w.bobToken)
}

// The main refusals of each new action: the status, code and field a flow may branch on, and no
// HipChat call for input the connector refuses itself.
func TestServeTheNewActionsRefusals(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-max-file-bytes", "2048")
	auth := bearerHeader(w.annToken)
	public, private := strconv.Itoa(w.publicRoom), strconv.Itoa(w.privateRoom)
	notifyOnly := w.sim.userToken("ann@example.com", testPassword, "send_notification view_room")
	viewOnly := w.sim.userToken("ann@example.com", testPassword, "view_group view_room")
	file := func(size int) string {
		return mustJSON(map[string]string{"fileName": "big.bin", "fileContent": base64.StdEncoding.EncodeToString(make([]byte, size))})
	}
	// Each connection is tested first, as the wizard does: a token HipChat has accepted is never held
	// back by the connector's gate for tokens it has not seen accepted (connector/tokengate.go), which
	// a burst of refused calls would otherwise meet.
	for _, token := range []string{w.annToken, notifyOnly, viewOnly} {
		require.Equal(t, http.StatusOK, c.do("GET", "/connection", bearerHeader(token), "").Status)
	}

	for _, tc := range []struct {
		name, method, path, auth, body string
		status                         int
		code, field, says              string
	}{
		{"notification too long", "POST", "/rooms/" + public + "/notifications", auth, mustJSON(map[string]string{"message": strings.Repeat("x", 10001)}), 400, "field_too_long", "message", "10000"},
		{"unknown color", "POST", "/rooms/" + public + "/notifications", auth, `{"message":"hi","color":"blue"}`, 400, "invalid_field", "color", "yellow, green, red, purple, gray, random"},
		{"card missing what HipChat needs", "POST", "/rooms/" + public + "/notifications", auth, `{"message":"hi","card":{"style":"link","title":"docs"}}`, 400, "missing_field", "card.description", "link"},
		{"card member misspelt", "POST", "/rooms/" + public + "/notifications", auth, `{"message":"hi","card":{"style":"image","title":"x","thumbnailUrl":"https://x/y.png"}}`, 400, "invalid_field", "card.thumbnailUrl", "not a member"},
		{"notification scope", "POST", "/rooms/" + public + "/notifications", bearerHeader(viewOnly), `{"message":"hi"}`, 403, "scope_missing", "", "send_notification"},
		{"notification unknown room", "POST", "/rooms/999999/notifications", auth, `{"message":"hi"}`, 404, "room_not_found", "roomId", "not found"},
		{"reply too long", "POST", "/rooms/" + public + "/replies", auth, mustJSON(map[string]string{"parentMessageId": "x", "message": strings.Repeat("é", 1001)}), 400, "field_too_long", "message", "1000"},
		{"reply without parent", "POST", "/rooms/" + public + "/replies", auth, `{"message":"hi"}`, 400, "missing_field", "parentMessageId", "parentMessageId"},
		{"reply to an unknown message", "POST", "/rooms/" + public + "/replies", auth, `{"parentMessageId":"00000000-0000-4000-8000-000000000000","message":"hi"}`, 400, "bad_request", "", "HipChat: "},
		{"private message to nobody", "POST", "/users/@nobody/messages", auth, `{"message":"hi"}`, 404, "user_not_found", "userId", "not found"},
		{"private message format", "POST", "/users/@bob/messages", auth, `{"message":"hi","messageFormat":"markdown"}`, 400, "invalid_field", "messageFormat", "html, text"},
		{"link not absolute", "POST", "/rooms/" + public + "/links", auth, `{"link":"www.example.com"}`, 400, "invalid_field", "link", "absolute"},
		{"file over the limit", "POST", "/rooms/" + public + "/files", auth, file(2049), 400, "field_too_long", "fileContent", "2048 bytes (2 KiB)"},
		{"file far over the limit", "POST", "/rooms/" + public + "/files", auth, file(100 << 10), 400, "field_too_long", "fileContent", "2048 bytes (2 KiB)"},
		{"file not base64", "POST", "/rooms/" + public + "/files", auth, `{"fileName":"a.txt","fileContent":"%%%"}`, 400, "invalid_field", "fileContent", "base64"},
		{"file name a path", "POST", "/rooms/" + public + "/files", auth, `{"fileName":"../a.txt","fileContent":"aGk="}`, 400, "invalid_field", "fileName", "plain file name"},
		{"topic too long", "PUT", "/rooms/" + public + "/topic", auth, mustJSON(map[string]string{"topic": strings.Repeat("t", 251)}), 400, "field_too_long", "topic", "250"},
		{"topic scope", "PUT", "/rooms/" + public + "/topic", bearerHeader(notifyOnly), `{"topic":"x"}`, 403, "scope_missing", "", "admin_room"},
		{"room name taken", "POST", "/rooms", auth, `{"name":"General"}`, 400, "bad_request", "", "Another room exists"},
		{"room privacy", "POST", "/rooms", auth, `{"name":"New","privacy":"secret"}`, 400, "invalid_field", "privacy", "public, private"},
		{"room scope", "POST", "/rooms", bearerHeader(viewOnly), `{"name":"Mine"}`, 403, "scope_missing", "", "manage_rooms"},
		{"unknown room details", "GET", "/rooms/999999", auth, "", 404, "room_not_found", "roomId", "not found"},
		{"recent messages too many", "GET", "/rooms/" + private + "/messages?maxResults=5000", auth, "", 400, "invalid_field", "maxResults", "1 and 1000"},
		{"recent messages not a number", "GET", "/rooms/" + private + "/messages?maxResults=many", auth, "", 400, "invalid_field", "maxResults", "whole number"},
		{"remove from a public room", "DELETE", "/rooms/" + public + "/members/@bob", auth, "", 400, "bad_request", "", "HipChat: "},
		{"remove scope", "DELETE", "/rooms/" + private + "/members/@bob", bearerHeader(viewOnly), "", 403, "scope_missing", "", "admin_room"},
		{"invite to a private room", "POST", "/rooms/" + private + "/invitations/@carol", auth, `{"reason":"hi"}`, 400, "bad_request", "", "HipChat: "},
		{"invite without reason", "POST", "/rooms/" + public + "/invitations/@carol", auth, `{}`, 400, "missing_field", "reason", "reason"},
		{"invite nobody", "POST", "/rooms/" + public + "/invitations/@nobody", auth, `{"reason":"hi"}`, 404, "user_not_found", "userId", "not found"},
		{"user picker scope", "GET", "/users", bearerHeader(notifyOnly), "", 403, "scope_missing", "", "view_group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.sim.calls(w.annToken).Total
			a := c.do(tc.method, tc.path, tc.auth, tc.body)
			assert.Equal(t, tc.status, a.Status, a.Body)
			code, field, message := a.errorBody()
			assert.Equal(t, tc.code, code, a.Body)
			assert.Equal(t, tc.field, field, a.Body)
			assert.Contains(t, message, tc.says)
			if tc.status == 400 && tc.code != "bad_request" {
				assert.Equal(t, before, w.sim.calls(w.annToken).Total, "bad input is refused without calling HipChat")
			}
		})
	}

	t.Run("a file of exactly the limit is shared", func(t *testing.T) {
		a := c.do("POST", "/rooms/"+public+"/files", auth, file(2048))
		assert.Equal(t, http.StatusOK, a.Status, a.Body)
	})
	assertNoToken(t, c, w.annToken, notifyOnly, viewOnly)
}

// Every HipChat call of the new actions passes the connection's limiter: once the connection's
// budget is spent, each answers 429 with Retry-After and calls nothing.
func TestServeTheNewActionsSpendTheConnectionsBudget(t *testing.T) {
	w := newWorld(t)
	c := startConnector(t, w.sim.URL)
	token := w.sim.userToken("carol@example.com", testPassword, "")
	auth := bearerHeader(token)
	public := strconv.Itoa(w.publicRoom)
	spent := 0
	for ; spent < 120; spent++ {
		if a := c.do("GET", "/rooms/"+public, auth, ""); a.Status == http.StatusTooManyRequests {
			break
		}
	}
	require.Less(t, spent, 100, "the connector's budget stops a connection before 100 calls")
	calls := w.sim.calls(token).Total
	for _, call := range []struct{ method, path, body string }{
		{"POST", "/rooms/" + public + "/notifications", `{"message":"hi"}`},
		{"POST", "/rooms/" + public + "/replies", `{"parentMessageId":"x","message":"hi"}`},
		{"POST", "/users/@bob/messages", `{"message":"hi"}`},
		{"POST", "/rooms/" + public + "/links", `{"link":"https://example.com"}`},
		{"POST", "/rooms/" + public + "/files", `{"fileName":"a.txt","fileContent":"aGk="}`},
		{"PUT", "/rooms/" + public + "/topic", `{"topic":"x"}`},
		{"POST", "/rooms", `{"name":"Over Budget"}`},
		{"GET", "/rooms/" + public + "/messages", ""},
		{"POST", "/rooms/" + public + "/invitations/@bob", `{"reason":"hi"}`},
		{"GET", "/users", ""},
		{"GET", "/connection", ""},
	} {
		a := c.do(call.method, call.path, auth, call.body)
		assert.Equal(t, http.StatusTooManyRequests, a.Status, "%s %s: %s", call.method, call.path, a.Body)
		retryAfter, err := strconv.Atoi(a.Header.Get("Retry-After"))
		assert.NoError(t, err, "%s %s: Retry-After is whole seconds", call.method, call.path)
		assert.Positive(t, retryAfter)
	}
	assert.Equal(t, calls, w.sim.calls(token).Total, "no call reached HipChat")
}
