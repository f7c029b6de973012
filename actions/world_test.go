package actions_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// The actions call HipChat through the connector's real client.
var _ actions.HipChat = (*connector.Client)(nil)

// world is the emulator over real HTTP with two people, and the connector's client in front of it.
type world struct {
	ctx      context.Context
	url      string
	sim      *simclient.Client
	hipchat  *connector.Client
	ann, bob simclient.Person
}

func newWorld(t *testing.T) *world {
	t.Helper()
	emu, err := hipchatsim.New(hipchatsim.Options{})
	require.NoError(t, err)
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	w := &world{ctx: context.Background(), url: ts.URL, sim: simclient.New(ts.URL),
		hipchat: connector.NewClient(connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 20})})}
	w.ann, err = w.sim.NewPerson(w.ctx, emu.AdminToken(), "Ann Example", "ann")
	require.NoError(t, err)
	w.bob, err = w.sim.NewPerson(w.ctx, emu.AdminToken(), "Bob Example", "bob")
	require.NoError(t, err)
	return w
}

// conn is the connection of p's token, as the connector makes it for a request.
func (w *world) conn(p simclient.Person) connector.Connection {
	return connector.NewConnection(p.Token, w.url)
}

// room creates a room as Ann and returns its id.
func (w *world) room(t *testing.T, name, privacy string) string {
	t.Helper()
	id, err := w.sim.CreateRoom(w.ctx, w.ann.Token, name, privacy)
	require.NoError(t, err)
	return strconv.Itoa(id)
}

// calls is how many HipChat calls token has made so far.
func (w *world) calls(t *testing.T, token string) int {
	t.Helper()
	c, err := w.sim.CallsOf(w.ctx, token)
	require.NoError(t, err)
	return c.Total
}

// assertRefused asserts that err is an *actions.InvalidInput naming field with code and message.
func assertRefused(t *testing.T, err error, field, code, message string) {
	t.Helper()
	var invalid *actions.InvalidInput
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, field, invalid.Field)
	assert.Equal(t, code, invalid.Code)
	assert.Equal(t, message, invalid.Message)
}

// assertHipChatError asserts that err is HipChat's answer of kind, passed on unchanged.
func assertHipChatError(t *testing.T, err error, kind connector.Kind) {
	t.Helper()
	var up *connector.Error
	require.ErrorAs(t, err, &up)
	assert.Equal(t, kind, up.Kind)
}

const blankMessage = " is required and must not be blank"

// historyItem is a room history item as the emulator returns it, with what the tests look at.
type historyItem struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Message       *string         `json:"message"`
	From          json.RawMessage `json:"from"`
	Color         string          `json:"color"`
	MessageFormat string          `json:"message_format"`
	Card          string          `json:"card"`
	AttachTo      string          `json:"attach_to"`
	File          *struct {
		Name string `json:"name"`
		Size int    `json:"size"`
		URL  string `json:"url"`
	} `json:"file"`
}

// latest returns the newest items of path (a room's or a private chat's history/latest) as token.
func (w *world) latest(t *testing.T, path, token string) []historyItem {
	t.Helper()
	var history struct {
		Items []historyItem `json:"items"`
	}
	require.NoError(t, w.sim.Do(w.ctx, "GET", path, token, nil, &history))
	return history.Items
}

// last returns the newest message of room, as Ann sees it.
func (w *world) last(t *testing.T, room string) historyItem {
	t.Helper()
	items := w.latest(t, "/v2/room/"+room+"/history/latest", w.ann.Token)
	require.NotEmpty(t, items)
	return items[len(items)-1]
}

// limitedToken is a token of Ann with only scopes, as a designer who did not select them all.
func (w *world) limitedToken(t *testing.T, scopes string) string {
	t.Helper()
	token, err := w.sim.PasswordToken(w.ctx, w.ann.Email, w.ann.Password, scopes)
	require.NoError(t, err)
	return token
}

// assertScopeMissing asserts that err is HipChat's 403 naming scope.
func assertScopeMissing(t *testing.T, err error, scope string) {
	t.Helper()
	var up *connector.Error
	require.ErrorAs(t, err, &up)
	assert.Equal(t, connector.KindScopeMissing, up.Kind)
	assert.Contains(t, up.Message, "'"+scope+"'")
}

// connectorConn is the connection of token to the emulator at url.
func connectorConn(token, url string) connector.Connection {
	return connector.NewConnection(token, url)
}

func itoa(n int) string { return strconv.Itoa(n) }
