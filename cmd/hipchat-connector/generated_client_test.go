package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// generatedClientScript drives the connector with the client swagger-typescript-api generated from
// the definition served at /swagger.json: it subscribes (the answer's body, its secret included, not
// a header), takes a polling trigger's baseline, posts a message and polls the Location's state,
// and prints what it read as one JSON line.
const generatedClientScript = `
import { Api } from "./generated/client.js";

const env = process.env;
const api = new Api({ baseUrl: env.CONNECTOR, baseApiParams: { headers: { Authorization: "Bearer " + env.TOKEN } } });
const subscribed = await api.webhookTriggers.onNewMessageWebhook(env.ROOM, { callbackUrl: env.CALLBACK });
const baseline = await api.pollingTriggers.onNewMessage(env.ROOM);
const state = new URL(baseline.headers.get("location")).searchParams.get("state");
await api.messages.postMessage(env.ROOM, { message: "from a generated client <b>&</b>" });
const polled = await api.pollingTriggers.onNewMessage(env.ROOM, { state });
console.log(JSON.stringify({
  subscribeStatus: subscribed.status, subscription: subscribed.data, location: subscribed.headers.get("location"),
  baselineStatus: baseline.status, pollStatus: polled.status, items: polled.data.items,
}));
`

// A client generated from the definition by a generator from the npm registry (swagger-typescript-api,
// Swagger 2.0 in, JavaScript and type declarations out) types what the connector answers: the
// subscribe operations' 201 is a Subscription (with the one-time secret), the polling triggers' 200
// their items, a user stub has version; and driving the connector with it reads those answers.
func TestAClientGeneratedFromTheDefinitionReadsTypedAnswers(t *testing.T) {
	t.Parallel()
	project := newNodeProject(t, "swagger-typescript-api@13")
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-allow-private-callbacks", "-poll-schedule", "@every 1h")
	definition := c.do("GET", "/swagger.json", "", "")
	require.Equal(t, 200, definition.Status)
	project.write(t, "apiDefinition.swagger.json", definition.Body)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gen := exec.CommandContext(ctx, filepath.Join(project.dir, "node_modules", ".bin", "swagger-typescript-api"), "generate",
		"-p", "apiDefinition.swagger.json", "-o", "generated", "-n", "client.ts", "--js", "--module-name-first-tag", "--silent")
	gen.Dir = project.dir
	out, err := gen.CombinedOutput()
	require.NoError(t, err, "swagger-typescript-api:\n%s", out)
	types := project.read(t, "generated/client.d.ts")
	project.write(t, "generated/package.json", `{"type":"module"}`) // the generated client is an ES module

	for _, op := range []string{"onNewMessageWebhook", "onMentionWebhook", "onKeywordWebhook", "onNewFileWebhook", "onNewRoomWebhook"} {
		assert.Regexp(t, regexp.MustCompile(`(?s)\b`+op+`: \(.*?\) => Promise<HttpResponse<Subscription, Error>>`), types, "%s answers a Subscription", op)
	}
	for op, body := range map[string]string{"onNewMessage": "HistoryResponse", "onNewFile": "HistoryResponse", "onNewRoom": "RoomList"} {
		assert.Regexp(t, regexp.MustCompile(`(?s)\b`+op+`: \(.*?\) => Promise<HttpResponse<`+body+`, Error>>`), types, "%s answers %s", op, body)
	}
	assert.Regexp(t, `(?s)export interface User \{.*?version\?: string;`, types)
	assert.Regexp(t, `(?s)export interface Subscription \{.*?secret\?: string;`, types)
	assert.Regexp(t, `(?s)export interface HistoryItem \{.*?room_id\?: number;.*?room_name\?: string;`, types)

	project.write(t, "drive.mjs", generatedClientScript)
	const sink = "http://127.0.0.1:9/hook" // nothing listens: the delivery of the posted message is not this test's subject
	line := project.run(t, "drive.mjs", "CONNECTOR="+c.URL, "TOKEN="+w.annToken, "ROOM="+strconv.Itoa(w.publicRoom), "CALLBACK="+sink)
	var got struct {
		SubscribeStatus int `json:"subscribeStatus"`
		Subscription    struct {
			ID, Secret, Location string
			RoomID               int    `json:"room_id"`
			RoomName             string `json:"room_name"`
		} `json:"subscription"`
		Location     string `json:"location"`
		BaselineStat int    `json:"baselineStatus"`
		PollStatus   int    `json:"pollStatus"`
		Items        []struct {
			Message  string `json:"message"`
			RoomID   int    `json:"room_id"`
			RoomName string `json:"room_name"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(line)), &got), line)
	assert.Equal(t, 201, got.SubscribeStatus)
	assert.True(t, strings.HasPrefix(got.Subscription.Secret, "whsec_"), "the one-time secret is in the typed body: %+v", got.Subscription)
	assert.Equal(t, got.Location, got.Subscription.Location)
	assert.True(t, strings.HasSuffix(got.Location, "/subscriptions/"+got.Subscription.ID))
	assert.Equal(t, w.publicRoom, got.Subscription.RoomID)
	assert.Equal(t, 202, got.BaselineStat)
	assert.Equal(t, 200, got.PollStatus)
	require.Len(t, got.Items, 1)
	assert.Equal(t, "from a generated client <b>&</b>", got.Items[0].Message)
	assert.Equal(t, w.publicRoom, got.Items[0].RoomID)
	assert.Equal(t, "General", got.Items[0].RoomName)
}
