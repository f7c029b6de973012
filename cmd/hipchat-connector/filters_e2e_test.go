package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

// filterRoom is one room of 1,000 messages from Bob: 37 mention Ann (@ann), 12 say "outage", 5 do
// both, 4 say "INCIDENT"; the rest is chatter, with near misses ("outages", "@annie") among it.
type filterRoom struct {
	mentions, keywords, both, all []string // message ids, in posting order
}

func postFilterRoom(t *testing.T, sim *simclient.Client, bobToken, room string) filterRoom {
	t.Helper()
	both := map[int]bool{100: true, 300: true, 500: true, 700: true, 900: true}
	mentionOnly, outageOnly, incident := map[int]bool{}, map[int]bool{}, map[int]bool{}
	for i := 0; i < 7; i++ {
		outageOnly[41+137*i] = true
	}
	for i := 0; i < 4; i++ {
		incident[62+211*i] = true
	}
	for i := 7; len(mentionOnly) < 32; i += 29 {
		if !both[i] && !outageOnly[i] && !incident[i] {
			mentionOnly[i] = true
		}
	}
	var r filterRoom
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		var text string
		switch {
		case both[i]:
			text = fmt.Sprintf("@ann the outage %d is yours", i)
		case mentionOnly[i]:
			text = fmt.Sprintf("@ann can you look at %d?", i)
		case outageOnly[i]:
			text = fmt.Sprintf("Outage in region %d.", i)
		case incident[i]:
			text = fmt.Sprintf("INCIDENT %d opened", i)
		case i%50 == 1:
			text = fmt.Sprintf("outages %d happen", i)
		case i%50 == 2:
			text = fmt.Sprintf("@annie %d, lunch?", i)
		default:
			text = fmt.Sprintf("chatter %d", i)
		}
		id, err := sim.PostMessage(ctx, bobToken, room, text)
		require.NoError(t, err)
		r.all = append(r.all, id)
		if both[i] || mentionOnly[i] {
			r.mentions = append(r.mentions, id)
		}
		if both[i] || outageOnly[i] || incident[i] {
			r.keywords = append(r.keywords, id)
		}
		if both[i] {
			r.both = append(r.both, id)
		}
	}
	require.Len(t, r.mentions, 37)
	require.Len(t, r.keywords, 16)
	require.Len(t, r.both, 5)
	return r
}

// subscribeTo subscribes sink with token at path and body (callbackUrl added) and returns the
// subscription's id.
func (c *connectorUnderTest) subscribeTo(token, path string, body map[string]any, sink *testkit.Sink) string {
	c.tb.Helper()
	body["callbackUrl"] = sink.URL()
	answer := c.do("POST", path, bearerHeader(token), mustJSON(body))
	require.Equal(c.tb, http.StatusCreated, answer.Status, answer.Body)
	var sub struct{ ID, Secret string }
	require.NoError(c.tb, json.Unmarshal([]byte(answer.Body), &sub))
	sink.Trust(sub.ID, sub.Secret)
	return sub.ID
}

// quietCalls returns the emulator's call counts of tokens at a moment no poll is under way: two
// readings 50 ms apart that agree (a tick's reads of all feeds take a few milliseconds).
func quietCalls(t *testing.T, sim *simUnderTest, tokens ...string) []int {
	t.Helper()
	read := func() []int {
		var n []int
		for _, token := range tokens {
			n = append(n, sim.calls(token).Total)
		}
		return n
	}
	for attempt := 0; attempt < 100; attempt++ {
		first := read()
		time.Sleep(50 * time.Millisecond)
		if again := read(); fmt.Sprint(first) == fmt.Sprint(again) {
			return again
		}
	}
	t.Fatal("the HipChat call counts never stood still")
	return nil
}

// The acceptance test, through `serve`: one room of 1,000 messages. OnMentionWebhook for
// Ann's token delivers exactly the 37 that mention her, OnKeywordWebhook with outage,incident
// exactly its 16, a subscription with both filters exactly the 5, and the polling triggers
// (OnMention, OnKeyword, OnNewMessage with both filters) return the same; the filters survive a
// restart (stored, and signed in the polling state), and the feed of the three filtered
// subscriptions costs the HipChat reads of one unfiltered subscription.
func TestFilteredTriggersDeliverExactlyWhatMatchesInBothProtocols(t *testing.T) {
	w := newWorld(t)
	room := strconv.Itoa(w.publicRoom)
	plainToken := w.sim.personalToken("@ann")   // a second connection of Ann's: one unfiltered subscription
	pollingToken := w.sim.personalToken("@ann") // a third: the polling triggers, whose reads are the caller's
	db := filepath.Join(t.TempDir(), "connector.db")
	args := []string{"-db", db, "-poll-schedule", "@every 1s", "-allow-private-callbacks", "-push=false", "-callback-rate", "1000"}
	c := startConnector(t, w.sim.URL, args...)
	sink := testkit.NewSink(t, nil)

	mention := c.subscribeTo(w.annToken, "/subscriptions/rooms/"+room+"/mentions", map[string]any{}, sink)
	keyword := c.subscribeTo(w.annToken, "/subscriptions/rooms/"+room+"/keywords", map[string]any{"keywords": "outage, incident"}, sink)
	both := c.subscribeTo(w.annToken, "/subscriptions/rooms/"+room+"/messages", map[string]any{"mentions": "me", "keywords": "outage"}, sink)
	plain := c.subscribeTo(plainToken, "/subscriptions/rooms/"+room+"/messages", map[string]any{}, sink)
	apps := map[string]*logicApp{
		"OnMention": newLogicApp(t, c, pollingToken, "/triggers/rooms/"+room+"/mentions"),
		"OnKeyword": newLogicApp(t, c, pollingToken, "/triggers/rooms/"+room+"/keywords?keywords="+url.QueryEscape("outage,incident")),
		"both":      newLogicApp(t, c, pollingToken, "/triggers/rooms/"+room+"/messages?mentions=me&keywords=outage"),
	}
	for name, app := range apps {
		require.Equal(t, http.StatusAccepted, app.poll(), "%s: the first poll sets the baseline", name)
	}
	var shown struct {
		Filter struct {
			Mentions struct {
				User        string `json:"user"`
				ID          int    `json:"id"`
				MentionName string `json:"mention_name"`
			} `json:"mentions"`
			IncludeAtAll *bool    `json:"include_at_all"`
			Keywords     []string `json:"keywords"`
			Include      string   `json:"include"`
		} `json:"filter"`
	}
	got := c.do("GET", "/subscriptions/"+both, bearerHeader(w.annToken), "")
	require.NoError(t, json.Unmarshal([]byte(got.Body), &shown))
	assert.Equal(t, "me", shown.Filter.Mentions.User, "GetSubscription shows the filter")
	assert.Equal(t, w.annID, shown.Filter.Mentions.ID)
	assert.Equal(t, "ann", shown.Filter.Mentions.MentionName)
	assert.Equal(t, []string{"outage"}, shown.Filter.Keywords)
	require.NotNil(t, shown.Filter.IncludeAtAll)
	assert.True(t, *shown.Filter.IncludeAtAll)
	assert.Equal(t, "both", shown.Filter.Include)

	// The connector is down while the room fills: the filters must come back from the database.
	c.Stop()
	r := postFilterRoom(t, w.sim.client, w.bobToken, room)
	before := quietCalls(t, w.sim, w.annToken, plainToken)
	restarted := startConnector(t, w.sim.URL, args...)
	require.Eventually(t, func() bool {
		accepted := sink.Accepted()
		return len(accepted[plain]) >= 1000 && len(accepted[mention]) >= 37 && len(accepted[keyword]) >= 16 && len(accepted[both]) >= 5
	}, 60*time.Second, 20*time.Millisecond, "every matching message arrives")
	assert.Regexp(t, regexp.MustCompile(`hipchat_connector_messages_filtered_total\{kind="message",protocol="webhook"\} 2942\b`),
		restarted.do("GET", "/metrics", "", "").Body, "3,000 messages read for the filtered subscriptions, 58 delivered")
	restarted.Stop() // nothing else is read or sent: the counts are final
	after := quietCalls(t, w.sim, w.annToken, plainToken)
	accepted := sink.Accepted()
	assert.ElementsMatch(t, r.mentions, accepted[mention], "OnMentionWebhook: exactly the 37 that mention Ann")
	assert.ElementsMatch(t, r.keywords, accepted[keyword], "OnKeywordWebhook: exactly outage or incident")
	assert.ElementsMatch(t, r.both, accepted[both], "both filters: exactly the 5")
	assert.ElementsMatch(t, r.all, accepted[plain])
	// Each tick reads both connections' feeds, one after the other: the stop (or any reading while
	// the connector runs) may fall between the two reads of one tick, so they may be one read apart.
	// Three reads a tick, one per filtered subscription, would be twice as many and more.
	assert.InDelta(t, after[1]-before[1], after[0]-before[0], 1,
		"Ann's three filtered subscriptions made as many HipChat reads as her one unfiltered subscription (give or take the tick the stop fell in)")
	t.Logf("HipChat calls while delivering 1,000 messages: %d for three filtered subscriptions, %d for one unfiltered", after[0]-before[0], after[1]-before[1])

	// The polling triggers, across the same restart (the state, and the key that signs it, survive).
	third := startConnector(t, w.sim.URL, args...)
	for name, app := range apps {
		app.next = strings.Replace(app.next, c.URL, third.URL, 1)
		app.conn = third
		app.pollUntilWaiting()
		want := map[string][]string{"OnMention": r.mentions, "OnKeyword": r.keywords, "both": r.both}[name]
		assert.Equal(t, want, app.runs, "%s: exactly its matches, oldest first", name)
	}
	metrics := third.do("GET", "/metrics", "", "").Body
	assert.Regexp(t, regexp.MustCompile(`hipchat_connector_messages_filtered_total\{kind="message",protocol="polling"\} 2942\b`), metrics,
		"3,000 messages polled, 58 returned")

	// A Location whose filter was edited is refused.
	for name, edit := range map[string]struct{ app, from, to string }{
		"keywords changed": {"OnKeyword", "keywords=outage%2Cincident", "keywords=outage"},
		"mentions removed": {"both", "mentions=me&", ""},
		"filter added":     {"OnMention", "?", "?pattern=.&"},
	} {
		edited := strings.Replace(apps[edit.app].next, edit.from, edit.to, 1)
		require.NotEqual(t, apps[edit.app].next, edited, name)
		answer := third.do("GET", strings.TrimPrefix(edited, third.URL), pollingToken, "")
		assert.Equal(t, http.StatusBadRequest, answer.Status, "%s: %s", name, answer.Body)
		code, field, _ := answer.errorBody()
		assert.Equal(t, "invalid_state", code, name)
		assert.Equal(t, "state", field, name)
	}
}

// A filter HipChat could not match with is refused with a 400 that names the field, in both
// protocols, and nothing is stored: an invalid or too long pattern, a mentions user HipChat does not
// know, OnKeyword without keywords, a filter on the room trigger, and me on a token that belongs to
// no user (an add-on's).
func TestFiltersRefusedNameTheFieldAndStoreNothing(t *testing.T) {
	emu, err := hipchatsim.New(hipchatsim.Options{Fixtures: &hipchatsim.Fixtures{
		Users:  []hipchatsim.FixtureUser{{Name: "Ann Lee", Email: "ann@example.com", MentionName: "ann", Tokens: []hipchatsim.FixtureToken{{Token: "ann-filter-token"}}}},
		Addons: []hipchatsim.FixtureAddon{{ClientID: "filter-addon", ClientSecret: "filter-addon-secret", Name: "Filter Add-on"}},
		Rooms:  []hipchatsim.FixtureRoom{{Name: "Ops", Owner: "@ann"}},
	}})
	require.NoError(t, err)
	hipchat := httptest.NewServer(emu)
	t.Cleanup(hipchat.Close)
	addon, err := simclient.New(hipchat.URL).AddonToken(context.Background(), "filter-addon", "filter-addon-secret", "")
	require.NoError(t, err)
	c := startConnector(t, hipchat.URL, "-allow-private-callbacks", "-poll-schedule", "@every 1h")
	ann := bearerHeader("ann-filter-token")
	hook := `"callbackUrl":"http://127.0.0.1:9/hook"`
	long := strings.Repeat("a", 257)

	cases := []struct {
		name, method, path, auth, body string
		code, field, says              string
	}{
		{"invalid pattern", "POST", "/subscriptions/rooms/1/messages", ann, `{` + hook + `,"pattern":"(outage"}`, "invalid_field", "pattern", "RE2"},
		{"pattern too long", "POST", "/subscriptions/rooms/1/messages", ann, `{` + hook + `,"pattern":"` + long + `"}`, "field_too_long", "pattern", "256"},
		{"unknown user", "POST", "/subscriptions/rooms/1/messages", ann, `{` + hook + `,"mentions":"@nobody"}`, "invalid_field", "mentions", "@nobody"},
		{"unknown author", "POST", "/subscriptions/rooms/1/files", ann, `{` + hook + `,"from":"nobody@example.com"}`, "invalid_field", "from", "nobody@example.com"},
		{"keywords missing", "POST", "/subscriptions/rooms/1/keywords", ann, `{` + hook + `}`, "missing_field", "keywords", "keywords"},
		{"another user on OnMention", "POST", "/subscriptions/rooms/1/mentions", ann, `{` + hook + `,"mentions":"@ann"}`, "invalid_field", "mentions", "mentions=me"},
		{"include on files", "POST", "/subscriptions/rooms/1/files", ann, `{` + hook + `,"include":"messages"}`, "invalid_field", "include", "file"},
		{"a filter on rooms", "POST", "/subscriptions/rooms", ann, `{` + hook + `,"keywords":"launch"}`, "invalid_field", "keywords", "room trigger"},
		{"a wrong type", "POST", "/subscriptions/rooms/1/messages", ann, `{` + hook + `,"includeAtAll":"yes"}`, "invalid_field", "includeAtAll", "true or false"},
		{"me of an add-on", "POST", "/subscriptions/rooms/1/mentions", bearerHeader(addon), `{` + hook + `}`, "invalid_field", "mentions", "add-on"},
		{"poll: invalid pattern", "GET", "/triggers/rooms/1/messages?pattern=" + url.QueryEscape("a{2,1}"), ann, "", "invalid_field", "pattern", "RE2"},
		{"poll: unknown user", "GET", "/triggers/rooms/1/messages?mentions=%40nobody", ann, "", "invalid_field", "mentions", "@nobody"},
		{"poll: keywords missing", "GET", "/triggers/rooms/1/keywords", ann, "", "missing_field", "keywords", "keywords"},
		{"poll: me of an add-on", "GET", "/triggers/rooms/1/mentions", bearerHeader(addon), "", "invalid_field", "mentions", "add-on"},
		{"poll: a filter on rooms", "GET", "/triggers/rooms?from=CI", ann, "", "invalid_field", "from", "room trigger"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := c.do(tc.method, tc.path, tc.auth, tc.body)
			require.Equal(t, http.StatusBadRequest, answer.Status, answer.Body)
			code, field, message := answer.errorBody()
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.field, field)
			assert.Contains(t, message, tc.says)
			assert.Empty(t, answer.Header.Get("Location"), "no state, no subscription")
		})
	}
	for _, token := range []string{"ann-filter-token", addon} {
		list := c.do("GET", "/subscriptions", bearerHeader(token), "")
		require.Equal(t, http.StatusOK, list.Status, list.Body)
		assert.JSONEq(t, `{"items":[]}`, list.Body, "nothing was stored")
	}
	assert.NotContains(t, c.Logs.String(), addon, "the add-on token, which the session call carries in its path, is never logged")
}

// Push stays one doorbell per feed: filtered subscriptions of the room add no HipChat webhook, and
// what they match arrives on the feed's doorbell, well before the one-minute poll.
func TestFilteredSubscriptionsShareTheFeedsDoorbells(t *testing.T) {
	w := newPushWorld(t)
	ctx := context.Background()
	hooks, err := w.sim.ListWebhooks(ctx, w.emu.AdminToken(), w.room)
	require.NoError(t, err)
	sink := testkit.NewSink(t, nil)
	mention := w.conn.subscribeTo(w.person.Token, "/subscriptions/rooms/"+w.room+"/mentions", map[string]any{}, sink)
	keyword := w.conn.subscribeTo(w.person.Token, "/subscriptions/rooms/"+w.room+"/keywords", map[string]any{"keywords": "deploy"}, sink)
	again, err := w.sim.ListWebhooks(ctx, w.emu.AdminToken(), w.room)
	require.NoError(t, err)
	assert.Len(t, again, len(hooks), "no webhook per filter: the room's doorbells serve every subscription of the feed")

	bob, err := w.sim.NewPerson(ctx, w.emu.AdminToken(), "Bob Stone", "bob")
	require.NoError(t, err)
	hit, err := w.sim.PostMessage(ctx, bob.Token, w.room, "@ann the deploy is out")
	require.NoError(t, err)
	_, err = w.sim.PostMessage(ctx, bob.Token, w.room, "lunch?")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got := sink.Accepted()
		return len(got[mention]) == 1 && len(got[keyword]) == 1
	}, 30*time.Second, 10*time.Millisecond, "the doorbell's read delivers what each filter keeps")
	assert.Equal(t, map[string][]string{mention: {hit}, keyword: {hit}}, sink.Accepted())
}
