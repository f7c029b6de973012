package sandbox_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/sandbox"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/browsertest"
)

var screenshot = flag.Bool("screenshot", false, "write the page's screenshot to docs/screenshots/sandbox.png")

const screenshotPath = "../../docs/screenshots/sandbox.png"

// world is what the browser test finds in the emulator before it opens the page.
type world struct {
	ann, bob simclient.Person
	general  int    // public room of Ann's, with history
	addon    string // an add-on token, which pushes glances
}

// pushGlance updates the add-on's "builds" glance in room with a lozenge.
func pushGlance(ctx context.Context, c *simclient.Client, addon, room, lozenge, label string) error {
	body := map[string]any{"glance": []any{map[string]any{"key": "builds", "content": map[string]any{
		"label":  map[string]any{"type": "html", "value": "<b>4</b> builds"},
		"status": map[string]any{"type": "lozenge", "value": map[string]any{"type": lozenge, "label": label}},
	}}}}
	return c.Do(ctx, "POST", "/v2/addon/ui/room/"+room, addon, body, nil)
}

func seed(t *testing.T, base string) world {
	t.Helper()
	ctx := context.Background()
	c := simclient.New(base)
	var w world
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.ann, err = c.NewPerson(ctx, adminToken, "Ann Lee", "ann")
	must(err)
	w.bob, err = c.NewPerson(ctx, adminToken, "Bob Ray", "bob")
	must(err)
	w.general, err = c.CreateRoom(ctx, w.ann.Token, "General", "public")
	must(err)
	general := strconv.Itoa(w.general)
	_, err = c.PostMessage(ctx, w.ann.Token, general, "Good morning")
	must(err)
	_, err = c.PostMessage(ctx, w.bob.Token, general, "Morning! Deploy at 10?")
	must(err)
	must(c.Notify(ctx, adminToken, general, "Jenkins", "Build #42 passed"))
	// The flow's receiver: a local server, as a designer's would be (the emulator calls loopback).
	flow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(flow.Close)
	must(c.Do(ctx, "POST", "/v2/room/"+general+"/webhook", adminToken,
		map[string]string{"url": flow.URL + "/hipchat/new-message", "event": "room_message", "name": "OnNewMessage flow"}, nil))
	// An add-on's glance for the room, as its build server would push it.
	w.addon, err = c.AddonToken(ctx, glanceAddon, glanceSecret, "")
	must(err)
	must(pushGlance(ctx, c, w.addon, general, "success", "GREEN"))
	ops, err := c.CreateRoom(ctx, adminToken, "Ops", "private")
	must(err)
	must(c.AddMember(ctx, adminToken, strconv.Itoa(ops), "bob@example.com"))
	return w
}

// problems are exceptions, refusals by the CSP and failed loads other than the one expected 404 of
// /_sim/webhooks on an emulator without it.
func problems(log *browsertest.Log) []string {
	var out []string
	for _, m := range log.Messages() {
		text := m.String()
		switch {
		case m.IsException(), strings.Contains(text, "Content Security Policy"), strings.Contains(text, "Refused"):
			out = append(out, text)
		case m.Type == "error" && !(strings.Contains(text, "404") && strings.Contains(m.URL, "/_sim/webhooks")):
			out = append(out, text+" ("+m.URL+")")
		}
	}
	return out
}

// historyHas is a predicate for chromedp.Poll: the history list shows an item containing text.
func historyHas(text string) string {
	return `[...document.querySelectorAll('#history li')].some(li => li.textContent.includes(` + strconv.Quote(text) + `))`
}

// TestBrowser drives the page in Chromium against an emulator over HTTP: sign in with the admin
// token, pick a room, see its history, people and an add-on's glance (and its next update), post a
// message as another user through the form,
// share a file, and see both arrive in the live history; send a notification; create a room; sign
// out, which revokes the tokens the page minted. The page's answer carries the CSP, and the
// browser refuses nothing under it.
func TestBrowser(t *testing.T) {
	ctx := browsertest.New(t, "the sandbox page's browser test")
	ts := newEmulator(t)
	w := seed(t, ts.URL)
	log := browsertest.Watch(ctx)

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(ts.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || resp.Headers["Content-Security-Policy"] != sandbox.ContentSecurityPolicy {
		t.Fatalf("GET /: status %d, Content-Security-Policy %q", resp.Status, resp.Headers["Content-Security-Policy"])
	}
	if resp.Headers["X-Content-Type-Options"] != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", resp.Headers["X-Content-Type-Options"])
	}

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v (console: %q)", what, err, problems(log))
		}
	}
	wait := func(what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			calls, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#webhook-calls').textContent`))
			t.Fatalf("waiting until %s: %v (console: %q; webhook calls shown: %q)", what, err, problems(log), calls)
		}
	}
	general := `#rooms button[data-room="` + strconv.Itoa(w.general) + `"]`

	step("sign in",
		chromedp.EmulateViewport(1200, 1400),
		chromedp.WaitVisible(chromedp.ID("sign-in-token")),
		chromedp.SendKeys(chromedp.ID("sign-in-token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in-form button")),
		chromedp.WaitVisible(chromedp.CSS(general)),
	)
	if stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('hipchat-sandbox.token')`)); err != nil || stored != adminToken {
		t.Errorf("sessionStorage token %q, %v", stored, err)
	}
	if cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || cookies != "" {
		t.Errorf("cookies %q, %v", cookies, err)
	}

	step("choose General", chromedp.Click(chromedp.CSS(general)))
	wait("the seeded history shows", historyHas("Good morning")+` && `+historyHas("Build #42 passed"))
	wait("the participants show", `document.querySelector('#participants').textContent.includes('Bob Ray @bob')`)
	wait("the webhook shows", `document.querySelector('#webhooks').textContent.includes('OnNewMessage flow')`)
	wait("the add-on's glance shows", `[...document.querySelectorAll('#glances li')].some(li =>
		li.textContent.includes('<b>4</b> builds') && li.textContent.includes('Build Glance') &&
		li.querySelector('.lozenge.success') && li.querySelector('.lozenge').textContent === 'GREEN')`)
	if err := pushGlance(context.Background(), simclient.New(ts.URL), w.addon, strconv.Itoa(w.general), "error", "RED"); err != nil {
		t.Fatal(err)
	}
	wait("the glance's next update replaces it", `document.querySelectorAll('#glances li').length === 1 &&
		document.querySelector('#glances .lozenge.error') && document.querySelector('#glances .lozenge').textContent === 'RED'`)
	wait("no webhook call yet", `document.querySelector('#webhook-calls').textContent.includes('No webhook calls recorded yet.')`)

	step("post as Bob",
		chromedp.SetValue(chromedp.ID("post-as"), strconv.Itoa(w.bob.ID)),
		chromedp.SendKeys(chromedp.ID("post-text"), "hello from the sandbox page"),
		chromedp.Click(chromedp.CSS("#post-form button[type=submit]")),
	)
	wait("the posted message shows", historyHas("hello from the sandbox page"))
	step("refresh the webhooks", chromedp.Click(chromedp.ID("webhooks-refresh")))
	wait("the room_message call the post caused shows", `document.querySelector('#webhook-calls').textContent.includes('/hipchat/new-message') && document.querySelector('#webhook-calls').textContent.includes('room_message')`)

	file := filepath.Join(t.TempDir(), "release-notes.txt")
	if err := os.WriteFile(file, []byte("v1.2: faster polling\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step("share a file as Ann",
		chromedp.SetValue(chromedp.ID("share-as"), strconv.Itoa(w.ann.ID)),
		chromedp.SetUploadFiles(chromedp.ID("share-file"), []string{file}),
		chromedp.SendKeys(chromedp.ID("share-message"), "notes for the release"),
		chromedp.Click(chromedp.CSS("#share-form button[type=submit]")),
	)
	wait("the shared file shows", historyHas("release-notes.txt")+` && `+historyHas("notes for the release"))

	// The page posted through the API as the chosen users, with tokens it minted.
	var latest struct {
		Items []struct {
			From    any    `json:"from"`
			Message string `json:"message"`
			File    *struct {
				Name string `json:"name"`
				Size int    `json:"size"`
			} `json:"file"`
		} `json:"items"`
	}
	if err := simclient.New(ts.URL).Do(context.Background(), "GET", "/v2/room/"+strconv.Itoa(w.general)+"/history/latest", adminToken, nil, &latest); err != nil {
		t.Fatal(err)
	}
	n := len(latest.Items)
	if n < 2 {
		t.Fatalf("history has %d items", n)
	}
	posted, shared := latest.Items[n-2], latest.Items[n-1]
	if from, _ := posted.From.(map[string]any); posted.Message != "hello from the sandbox page" || from["mention_name"] != "bob" {
		t.Errorf("posted %q from %v, want Bob's message", posted.Message, posted.From)
	}
	if from, _ := shared.From.(map[string]any); shared.File == nil || shared.File.Name != "release-notes.txt" ||
		shared.File.Size != len("v1.2: faster polling\n") || shared.Message != "notes for the release" || from["mention_name"] != "ann" {
		t.Errorf("shared %+v %q from %v, want Ann's file", shared.File, shared.Message, shared.From)
	}

	if *screenshot {
		browsertest.Screenshot(t, ctx, screenshotPath)
	}

	step("send a notification with the signed-in token",
		chromedp.Click(chromedp.CSS(`#post-form input[value="notification"]`)),
		chromedp.WaitVisible(chromedp.ID("post-from")),
		chromedp.SetValue(chromedp.ID("post-as"), ""),
		chromedp.SetValue(chromedp.ID("post-color"), "red"),
		chromedp.SendKeys(chromedp.ID("post-from"), "Nagios"),
		chromedp.SendKeys(chromedp.ID("post-text"), "disk almost full"),
		chromedp.Click(chromedp.CSS("#post-form button[type=submit]")),
	)
	wait("the notification shows in red", `[...document.querySelectorAll('#history li.notification.color-red')]
		.some(li => li.textContent.includes('Nagios') && li.textContent.includes('disk almost full'))`)

	step("create a room", chromedp.SendKeys(chromedp.ID("room-name"), "Designers"),
		chromedp.Click(chromedp.CSS("#create-room-form button")))
	wait("the new room is chosen", `[...document.querySelectorAll('#rooms button[aria-current="true"]')].some(b => b.textContent.includes('Designers'))
		&& document.querySelector('#room-title').textContent === 'Designers' && !document.querySelector('#history-empty').hidden`)

	// At a phone's width nothing is wider than the screen.
	step("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	// (A mobile layout viewport widens to fit content, so innerWidth would hide an overflow.)
	overflow := `document.documentElement.scrollWidth > 390 ||
		[...document.querySelectorAll('.card')].some(c => c.getBoundingClientRect().right > 390)`
	if wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](overflow)); err != nil || wide {
		t.Errorf("at 390px the page or a card is wider than the screen (%v)", err)
	}

	// Signing out forgets every token and revokes the ones the page minted (Ann's and Bob's).
	minted, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]struct {
		Token string `json:"token"`
		How   string `json:"how"`
	}](`JSON.parse(sessionStorage.getItem('hipchat-sandbox.user-tokens'))`))
	if err != nil || len(minted) != 2 {
		t.Fatalf("minted tokens %v, %v", minted, err)
	}
	step("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("sign-in-token")))
	wait("every token is forgotten", `sessionStorage.length === 0 && document.querySelector('#app').hidden`)
	for id, m := range minted {
		err := simclient.New(ts.URL).Do(context.Background(), "GET", "/v2/room", m.Token, nil, nil)
		if se, ok := err.(*simclient.StatusError); m.How != "minted" || !ok || se.Status != 401 {
			t.Errorf("user %s's %s token after sign-out: %v", id, m.How, err)
		}
	}

	if problems := problems(log); len(problems) > 0 {
		t.Errorf("the browser reported: %q", problems)
	}
}
