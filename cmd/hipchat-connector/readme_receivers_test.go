package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's verifiers ("Verifying deliveries in your engine") run against a real connector: each
// receives the deliveries of one subscription — an HTML notification among them — and must accept
// every one, and refuse a delivery whose body was changed after it was signed.

// htmlNotification is what the README promises engines that parse first: markup kept as it is.
const htmlNotification = `<b>build #7</b> passed &amp; <a href="https://ci.example.com/7">deployed</a>`

// receiverWorld is the emulator and a connector that delivers at once (push), a room to watch.
type receiverWorld struct {
	*world
	connector *connectorUnderTest
	room      string
}

func newReceiverWorld(t *testing.T) *receiverWorld {
	t.Helper()
	w := newWorld(t)
	c := startConnector(t, w.sim.URL, "-allow-private-callbacks", "-poll-schedule", "@every 1s")
	return &receiverWorld{world: w, connector: c, room: strconv.Itoa(w.publicRoom)}
}

// subscribe makes a message subscription of Ann's delivering to callback, and returns its id and
// secret.
func (rw *receiverWorld) subscribe(t *testing.T, callback string) (id, secret string) {
	t.Helper()
	answer := rw.connector.do("POST", "/subscriptions/rooms/"+rw.room+"/messages", bearerHeader(rw.annToken), mustJSON(map[string]string{"callbackUrl": callback}))
	require.Equal(t, http.StatusCreated, answer.Status, answer.Body)
	var sub struct{ ID, Secret string }
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &sub))
	return sub.ID, sub.Secret
}

// postEvents makes three messages that escaping would change: an HTML notification, a message with
// quotes, markup, accents, an emoji and line separators, and a file shared with markup in its
// message. It returns how many.
func (rw *receiverWorld) postEvents(t *testing.T) int {
	t.Helper()
	rw.sim.mustCall("POST", "/v2/room/"+rw.room+"/notification", rw.annToken,
		map[string]any{"message": htmlNotification, "from": "CI", "message_format": "html", "color": "green"}, nil)
	rw.sim.mustCall("POST", "/v2/room/"+rw.room+"/message", rw.annToken,
		map[string]string{"message": "\"quoted\" <tag> & café 😀 one\u2028two\u2029three"}, nil)
	require.NoError(t, rw.sim.client.ShareFile(context.Background(), rw.annToken, rw.room, "notes.txt", "text/plain", []byte("notes\n"), "<i>notes</i> & more"))
	return 3
}

// waitDelivered waits until subscription id has n deliveries, each delivered (the receiver answered
// 2xx), and fails the test with their states otherwise.
func (rw *receiverWorld) waitDelivered(t *testing.T, id string, n int) {
	t.Helper()
	var last string
	ok := assert.Eventually(t, func() bool {
		answer := rw.connector.do("GET", "/subscriptions/"+id+"/deliveries", bearerHeader(rw.annToken), "")
		last = answer.Body
		var list struct{ Items []struct{ Status string } }
		if json.Unmarshal([]byte(answer.Body), &list) != nil || len(list.Items) != n {
			return false
		}
		for _, d := range list.Items {
			if d.Status != "delivered" {
				return false
			}
		}
		return true
	}, 60*time.Second, 20*time.Millisecond)
	require.True(t, ok, "deliveries of %s: %s", id, last)
}

// assertRefusesAChangedBody sends the receiver at url a delivery signed with secret, then the same
// with its body changed after signing: the first is taken, the second refused with 401.
func assertRefusesAChangedBody(t *testing.T, url, secret string) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	body := `{"id":"forged","message":"` + strings.ReplaceAll(htmlNotification, `"`, `\"`) + `","room_id":1}`
	send := func(payload string) int {
		at := time.Now()
		signature, err := wh.Sign("msg_forged", at, []byte(body))
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(payload))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", "msg_forged")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		req.Header.Set("webhook-signature", signature)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusNoContent, send(body), "a body as signed is taken")
	assert.Equal(t, http.StatusUnauthorized, send(strings.Replace(body, "passed", "failed", 1)), "a body changed after signing is refused")
}

// freePort is a loopback port nothing listened on a moment ago, for a receiver that takes its port
// from the environment and must be subscribed before it starts (its secret comes with the
// subscription).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// startReceiver runs a receiver process until the test ends and waits until it listens on port.
func startReceiver(t *testing.T, port int, dir string, name string, args []string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	output := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	require.Eventually(t, func() bool {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}, 30*time.Second, 20*time.Millisecond, "%s never listened on %d: %s", name, port, output)
}

// The README's Go receiver, built and run, takes every delivery of a subscription.
func TestReadmeGoReceiverVerifiesDeliveries(t *testing.T) {
	t.Parallel()
	binary := filepath.Join(t.TempDir(), "receiver")
	buildReadmeGoExample(t, binary)
	rw := newReceiverWorld(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/hipchat", port)
	id, secret := rw.subscribe(t, url)
	startReceiver(t, port, t.TempDir(), binary, nil, "PORT="+strconv.Itoa(port), "HIPCHAT_WEBHOOK_SECRET="+secret)

	rw.waitDelivered(t, id, rw.postEvents(t))
	assertRefusesAChangedBody(t, url, secret)
}

// jsVerifiersHarness runs the README's Node-RED and n8n blocks as those engines would, on the body
// Node parsed (JSON.parse), and checks what the README promises of a parsed body: JSON.stringify
// gives back the bytes received, and the Standard Webhooks library verifies it. It prints one JSON
// line per delivery and answers 204 when every check held, 401 otherwise. The secret is read from
// secret.txt on each request: the harness listens before it is subscribed.
const jsVerifiersHarness = `
const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const { Webhook } = require("standardwebhooks");

const nodeRed = new Function("msg", "global", "env", fs.readFileSync("node-red.js", "utf8"));
const n8n = new Function("$json", "$env", "require", fs.readFileSync("n8n.js", "utf8"));
const secret = () => fs.readFileSync("secret.txt", "utf8").trim();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    const env = { HIPCHAT_WEBHOOK_SECRET: secret() };
    const result = { id: req.headers["webhook-id"], sameBytes: raw === JSON.stringify(JSON.parse(raw)) };
    try {
      new Webhook(env.HIPCHAT_WEBHOOK_SECRET).verify(JSON.stringify(JSON.parse(raw)), req.headers);
      result.library = true;
    } catch (e) {
      result.library = false;
    }
    const [event, reply] = nodeRed({ req: { headers: req.headers }, res: {}, payload: JSON.parse(raw) },
      { get: (name) => (name === "crypto" ? crypto : undefined) }, { get: (name) => env[name] });
    result.nodeRed = event !== null && reply.statusCode === 204;
    try {
      result.n8n = n8n({ headers: req.headers, body: JSON.parse(raw) }, env, require).json.id === JSON.parse(raw).id;
    } catch (e) {
      result.n8n = false;
    }
    console.log(JSON.stringify(result));
    res.writeHead(result.sameBytes && result.library && result.nodeRed && result.n8n ? 204 : 401);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
`

// The README's JavaScript verifiers take every delivery: Express with the Standard Webhooks library on
// the raw body, and Node-RED's and n8n's on the body Node parsed, serialized again — an HTML
// notification's included, byte for byte.
func TestReadmeJavaScriptVerifiersAcceptEveryDelivery(t *testing.T) {
	t.Parallel()
	project := newNodeProject(t, "express@5", "standardwebhooks@1")
	project.write(t, "express.js", readmeJS(t, "Express"))
	project.write(t, "node-red.js", readmeJS(t, "Node-RED"))
	project.write(t, "n8n.js", readmeJS(t, "n8n"))
	project.write(t, "harness.js", jsVerifiersHarness)
	rw := newReceiverWorld(t)

	expressPort := freePort(t)
	expressURL := fmt.Sprintf("http://127.0.0.1:%d/hipchat", expressPort)
	expressSub, expressSecret := rw.subscribe(t, expressURL)
	startReceiver(t, expressPort, project.dir, project.node, []string{"express.js"},
		"PORT="+strconv.Itoa(expressPort), "HIPCHAT_WEBHOOK_SECRET="+expressSecret)

	harness := project.serve(t, "harness.js")
	harnessURL := fmt.Sprintf("http://127.0.0.1:%d/hipchat", harness.Port)
	harnessSub, harnessSecret := rw.subscribe(t, harnessURL)
	project.write(t, "secret.txt", harnessSecret)

	n := rw.postEvents(t)
	rw.waitDelivered(t, expressSub, n)
	rw.waitDelivered(t, harnessSub, n)
	lines := harness.Lines()
	require.Len(t, lines, n, "one check per delivery")
	for _, line := range lines {
		var result struct {
			ID                               string
			SameBytes, Library, NodeRed, N8n bool
		}
		require.NoError(t, json.Unmarshal(line, &result))
		assert.True(t, result.SameBytes, "%s: JSON.stringify(JSON.parse(body)) is the body: %s", result.ID, line)
		assert.True(t, result.Library && result.NodeRed && result.N8n, "%s: every verifier accepts it: %s", result.ID, line)
	}
	assertRefusesAChangedBody(t, expressURL, expressSecret)
	assertRefusesAChangedBody(t, harnessURL, harnessSecret)
}
