package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
)

// A full run of the program — subscribe, deliver, rotate the secret, a test event, errors of every
// kind, a rejected token, doorbells rung — and then a scan of everything it wrote: its log, every
// answer body, its metrics and its database file. No token, no signing secret and no doorbell
// secret appears in any of them in clear.
func TestSecretsNeverAppearInLogsAnswersMetricsOrTheDatabase(t *testing.T) {
	emu := startEmulator(t)
	person, err := emu.client.NewPerson(context.Background(), emu.admin, "Ann Secret", "annsecret")
	require.NoError(t, err)
	ann := person.Token
	room := emu.createRoom(ann, "Secret Room", "public")
	dir := t.TempDir()
	db := filepath.Join(dir, "connector.db")
	c := startConnector(t, emu.URL, "-db", db, "-poll-schedule", "@every 1s", "-allow-private-callbacks")
	sink := testkit.NewSink(t, nil)
	auth := bearerHeader(ann)

	var answers []string
	do := func(method, path, authorization, body string) connectorAnswer {
		a := c.do(method, path, authorization, body)
		answers = append(answers, a.Body)
		for _, values := range a.Header {
			answers = append(answers, strings.Join(values, " "))
		}
		return a
	}
	roomPath := "/rooms/" + strconv.Itoa(room)

	created := do("POST", "/subscriptions"+roomPath+"/messages", auth, mustJSON(map[string]string{"callbackUrl": sink.URL()}))
	require.Equal(t, http.StatusCreated, created.Status, created.Body)
	var sub struct{ ID, Secret, Location string }
	require.NoError(t, json.Unmarshal([]byte(created.Body), &sub))
	sink.Trust(sub.ID, sub.Secret)
	require.Contains(t, created.Body, sub.Secret, "the scan looks for the secret in the form it is shown")
	secrets := []string{sub.Secret}
	answers = answers[:len(answers)-len(created.Header)-1] // the one answer that shows the secret, on purpose

	require.Equal(t, http.StatusOK, do("POST", roomPath+"/messages", auth, `{"message":"first"}`).Status)
	require.Eventually(t, func() bool { return len(sink.Accepted()[sub.ID]) >= 1 }, 20*time.Second, 50*time.Millisecond)

	rotated := c.do("POST", "/subscriptions/"+sub.ID+"/rotate-secret", auth, "")
	require.Equal(t, http.StatusOK, rotated.Status, rotated.Body)
	var next struct{ Secret string }
	require.NoError(t, json.Unmarshal([]byte(rotated.Body), &next))
	require.NotEmpty(t, next.Secret)
	sink.Trust(sub.ID, next.Secret)
	secrets = append(secrets, next.Secret)

	require.Equal(t, http.StatusAccepted, do("POST", "/subscriptions/"+sub.ID+"/test", auth, "").Status)
	require.Equal(t, http.StatusOK, do("POST", roomPath+"/messages", auth, `{"message":"second"}`).Status)
	require.Eventually(t, func() bool { return len(sink.Accepted()[sub.ID]) >= 3 }, 20*time.Second, 50*time.Millisecond)

	// Errors of every kind, each carrying the token or a secret somewhere a careless writer would echo.
	bogus := "bogus-token-" + strings.Repeat("z", 24)
	for _, e := range []struct{ method, path, auth, body string }{
		{"GET", "/users/@nobody", auth, ""},
		{"GET", "/rooms/424242/members", auth, ""},
		{"POST", roomPath + "/messages", auth, `{"message":"` + ann + `","x":` + `}`},
		{"POST", roomPath + "/messages", auth, `{"message":` + `"` + strings.Repeat("x", 1001) + `"}`},
		{"POST", "/subscriptions" + roomPath + "/messages", auth, `{"callbackUrl":"http://169.254.169.254/?t=` + ann + `"}`},
		{"GET", "/subscriptions/" + sub.ID + "?auth_token=" + ann, bearerHeader(bogus), ""},
		{"GET", "/rooms", bearerHeader(bogus), ""},
		{"GET", "/rooms", bogus, ""},
		{"GET", "/triggers" + roomPath + "/messages?state=" + ann, auth, ""},
		{"POST", "/subscriptions/" + sub.ID + "/recover", auth, `{"since":"` + next.Secret + `"}`},
	} {
		a := do(e.method, e.path, e.auth, e.body)
		assert.GreaterOrEqual(t, a.Status, 400, "%s %s", e.method, e.path)
		assert.Less(t, a.Status, 500, "%s %s: %s", e.method, e.path, a.Body)
	}
	// Push is on: the emulator rings the room's doorbell URL, whose last segment is a secret.
	var doorbell string
	require.Eventually(t, func() bool {
		hooks, err := emu.client.ListWebhooks(context.Background(), ann, strconv.Itoa(room))
		if err != nil || len(hooks) == 0 {
			return false
		}
		doorbell = hooks[0].URL
		return true
	}, 20*time.Second, 50*time.Millisecond, "the feed's doorbells are registered")
	doorbellSecret := doorbell[strings.LastIndex(doorbell, "/")+1:]
	rung, err := http.Post(doorbell, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	rung.Body.Close()
	assert.Equal(t, http.StatusNoContent, rung.StatusCode, "the doorbell rings")
	other := "0" // a wrong secret differs from the real one in its first character, whatever that is
	if doorbellSecret[0] == '0' {
		other = "1"
	}
	wrong, err := http.Post(strings.TrimSuffix(doorbell, doorbellSecret)+other+doorbellSecret[1:], "application/json", nil)
	require.NoError(t, err)
	wrong.Body.Close()
	assert.Equal(t, http.StatusNotFound, wrong.StatusCode)
	answers = append(answers, do("GET", "/subscriptions/"+sub.ID, auth, "").Body)
	metrics := c.do("GET", "/metrics", "", "")
	require.Equal(t, http.StatusOK, metrics.Status)
	c.Stop()
	require.Contains(t, c.Logs.String(), "/[secret]", "the doorbell calls are in the access log, redacted")

	raw, err := os.ReadFile(db)
	require.NoError(t, err)
	places := map[string]string{"log": c.Logs.String(), "answers": strings.Join(answers, "\n"), "metrics": metrics.Body, "database": string(raw)}
	needles := map[string]string{"the token": ann, "the rejected token": bogus, "the doorbell secret": doorbellSecret}
	for i, secret := range secrets {
		needles["signing secret "+strconv.Itoa(i)] = secret
		key := strings.TrimPrefix(secret, "whsec_")
		needles["signing key "+strconv.Itoa(i)+" (base64)"] = key
		if decoded, err := base64.StdEncoding.DecodeString(key); err == nil && len(decoded) >= 16 {
			needles["signing key "+strconv.Itoa(i)+" (bytes)"] = string(decoded)
		}
	}
	for place, text := range places {
		require.NotEmpty(t, text, place)
		for what, needle := range needles {
			assert.NotContains(t, text, needle, "%s appears in the %s", what, place)
		}
	}
	t.Logf("scanned %d bytes of log, %d of answers, %d of metrics, %d of database for %d secrets: none found",
		len(places["log"]), len(places["answers"]), len(places["metrics"]), len(places["database"]), len(needles))
}
