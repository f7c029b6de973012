package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/browsertest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/server/console"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// TestConsoleViewsInABrowser drives what the console shows beyond its buttons (issue 26): rooms by
// name (a subscription made by id and one made by name alike), a delivery's payload folded until
// asked for and still unfolded after the list is read again, an endpoint shared by two
// subscriptions whose last error says whose delivery failed (not the healthy neighbour's), one time
// format everywhere, health tiles that differ visibly at 0 and 1 open circuits, a sparkline with
// its scale, and the operator's list of 56 subscriptions in pages of 50, each subscription once,
// those of the signed-in token marked. With -screenshot it writes the README's screenshot.
func TestConsoleViewsInABrowser(t *testing.T) {
	browsertest.Chromium(t, "the console's browser test") // skip at once without one
	w := newWorld(t)
	sink := testkit.NewSink(t, nil)
	// One endpoint (one callback URL) for two of Ann's subscriptions: it answers one of them, and
	// fails the other's deliveries.
	var failingID atomic.Value
	failingID.Store("")
	shared := testkit.NewSink(t, func(_ int, r *http.Request) int {
		if r.Header.Get(webhook.HeaderSubscription) == failingID.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	adminFile := filepath.Join(t.TempDir(), "admin-token")
	const admin = "console-operator-credential-0123456789"
	require.NoError(t, os.WriteFile(adminFile, []byte(admin+"\n"), 0o600))
	c := startConnector(t, w.sim.URL, "-admin-token-file", adminFile, "-allow-private-callbacks", "-poll-schedule", "@every 1h",
		"-circuit-failures", "1")

	subscribe := func(token, path, callback string) string {
		t.Helper()
		resp := c.do("POST", path, bearerHeader(token), mustJSON(map[string]string{"callbackUrl": callback}))
		require.Equal(t, http.StatusCreated, resp.Status, resp.Body)
		var sub struct{ ID, Secret string }
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &sub))
		sink.Trust(sub.ID, sub.Secret)
		shared.Trust(sub.ID, sub.Secret)
		return sub.ID
	}
	general := subscribe(w.annToken, fmt.Sprintf("/subscriptions/rooms/%d/messages", w.publicRoom), sink.URL())
	byName := subscribe(w.annToken, "/subscriptions/rooms/"+url.PathEscape("Ops Private")+"/files", shared.URL()+"/hook")
	failing := subscribe(w.annToken, fmt.Sprintf("/subscriptions/rooms/%d/messages", w.privateRoom), shared.URL()+"/hook")
	failingID.Store(failing)
	subscribe(w.annToken, "/subscriptions/rooms", sink.URL())
	for i := range 52 { // Bob's: the operator's list then has 56, two pages of 50
		subscribe(w.bobToken, "/subscriptions/rooms", sink.URL()+"/bob/"+strconv.Itoa(i))
	}
	w.sim.mustCall("POST", fmt.Sprintf("/v2/room/%d/message", w.publicRoom), w.annToken, map[string]string{"message": "deploy 42 is out"}, nil)
	require.Eventually(t, func() bool { return len(sink.Requests()) == 1 }, time.Minute, 10*time.Millisecond, "the message arrives by push")
	require.Equal(t, http.StatusAccepted, c.do("POST", "/subscriptions/"+failing+"/test", bearerHeader(w.annToken), "").Status)
	require.Eventually(t, func() bool { return len(shared.Requests()) == 1 }, time.Minute, 10*time.Millisecond, "the failing one is tried")
	require.Eventually(t, func() bool {
		return metricValue(t, c, "hipchat_connector_callback_endpoints_open") == 1
	}, time.Minute, 20*time.Millisecond, "one failure opens the shared endpoint's circuit (-circuit-failures 1)")

	ctx := browsertest.New(t, "the console's browser test") // its time runs from here: the world is made
	log := browsertest.Watch(ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1200, 900)))
	_, err := chromedp.Run(ctx, chromedp.NavigateResponse(c.URL+console.Path))
	require.NoError(t, err)
	tab := consoleTab{t: t, ctx: ctx, log: log, patience: 30 * time.Second}
	step, wait := tab.step, tab.wait
	text := func(selector string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('`+selector+`') || {textContent: ''}).textContent`))
		require.NoError(t, err)
		return got
	}
	mine := func(id string) string { return `#mine-list [data-sub="` + id + `"]` }

	step("sign in with Ann's token", chromedp.SendKeys(chromedp.ID("token-input"), w.annToken),
		chromedp.Click(chromedp.CSS("#token-form button")), chromedp.WaitVisible(chromedp.CSS(mine(general))))
	wait("rooms show by name", `document.querySelector('`+mine(general)+` .sub-head').textContent.includes('messages of General')`)
	assert.Contains(t, text(mine(general)+" .sub-head"), "room "+strconv.Itoa(w.publicRoom))
	assert.Contains(t, text(mine(byName)+" .sub-head"), "files of Ops Private", "subscribed by name")
	assert.Contains(t, text(mine(byName)+" .sub-head"), "room "+strconv.Itoa(w.privateRoom), "…and its id found")
	assert.Contains(t, text(mine(failing)+" .sub-head"), "messages of Ops Private", "subscribed by id")

	healthy := text(mine(byName))
	assert.Contains(t, healthy, "shared by 2 of these subscriptions")
	assert.Contains(t, healthy, "Internal Server Error")
	assert.Contains(t, healthy, "a delivery of messages of Ops Private ("+failing[:8]+")", "whose delivery failed")
	assert.Contains(t, healthy, "this subscription\u2019s own deliveries did not fail")
	assert.Contains(t, text(mine(failing)), "a delivery of this subscription")
	assert.Contains(t, text("#zone"), "UTC")

	step("open the deliveries of messages of General", chromedp.Click(chromedp.CSS(`#mine-list button[data-action="deliveries"][data-id="`+general+`"]`)))
	wait("the delivery shows with its payload folded", `(() => {
		const d = document.querySelector('#deliveries-list details.payload');
		return d && !d.open && d.querySelector('summary').textContent.startsWith('Payload (');
	})()`)
	assert.Contains(t, text("#deliveries-title"), "Deliveries of messages of General")
	step("unfold the payload", chromedp.Click(chromedp.CSS("#deliveries-list details.payload summary")))
	wait("the payload shows the message", `document.querySelector('#deliveries-list details.payload').open &&
		document.querySelector('#deliveries-list details.payload pre').textContent.includes('"message": "deploy 42 is out"')`)
	require.Equal(t, http.StatusAccepted, c.do("POST", "/subscriptions/"+general+"/test", bearerHeader(w.annToken), "").Status)
	step("read the deliveries again", chromedp.Click(chromedp.ID("deliveries-refresh")))
	wait("the list was read again and the payload unfolded stays unfolded", `document.querySelectorAll('#deliveries-list li.delivery').length === 2 &&
		[...document.querySelectorAll('#deliveries-list details.payload')].filter(d => d.open).length === 1`)

	step("sign in as the operator", chromedp.SendKeys(chromedp.ID("operator-input"), admin),
		chromedp.Click(chromedp.CSS("#operator-form button")), chromedp.WaitVisible(chromedp.ID("all-table")))
	wait("the health tiles say the open circuit, and calm zeros", `(() => {
		const open = document.querySelector('#health-numbers [data-metric="circuits"]');
		const none = document.querySelector('#health-numbers [data-metric="suspended"]');
		return open.dataset.level === 'alert' && open.querySelector('dd').textContent === '1' && open.textContent.includes('endpoints held') &&
			none.dataset.level === 'ok' && none.querySelector('dd').textContent === '0' &&
			getComputedStyle(open).backgroundColor !== getComputedStyle(none).backgroundColor &&
			getComputedStyle(open).borderTopWidth !== getComputedStyle(none).borderTopWidth;
	})()`)
	wait("the sparkline has its scale", `/^\d+\/min$/.test(document.querySelector('#spark-max').textContent) &&
		document.querySelector('#spark-mid').textContent.endsWith('/min')`)
	step("sample the health twice more", chromedp.Click(chromedp.ID("health-refresh")))
	step("…", chromedp.Click(chromedp.ID("health-refresh")))
	wait("the sparkline says what it spans", `document.querySelector('#spark-span').textContent.endsWith(' ago') &&
		document.querySelector('#sparkline-now').textContent.startsWith('Now ')`)

	wait("the first page of the operator's list", `document.querySelectorAll('#all-list tr.sub').length === 50 &&
		document.querySelector('#all-caption').textContent.startsWith('Subscriptions 1–50 of 56') && document.querySelector('#all-prev').disabled &&
		!document.querySelector('#all-next').disabled`)
	ids := func() []string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#all-list tr.sub')].map(r => r.dataset.sub)`))
		require.NoError(t, err)
		return got
	}
	yours := func() int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#all-list .badge-yours').length`))
		require.NoError(t, err)
		return n
	}
	seen := map[string]int{}
	for _, id := range ids() {
		seen[id]++
	}
	marked := yours()
	wait("every time on the page in one format", `[...document.querySelectorAll('main time')].filter(e => e.textContent !== '').length > 10 &&
		[...document.querySelectorAll('main time')].filter(e => e.textContent !== '').every(e => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(e.textContent) || e.textContent === '—')`)
	step("next page", chromedp.Click(chromedp.ID("all-next")))
	wait("the second page", `document.querySelectorAll('#all-list tr.sub').length === 6 &&
		document.querySelector('#all-caption').textContent.startsWith('Subscriptions 51–56 of 56')`)
	pager, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#all-prev').disabled ? 'prev off' : 'prev on') + ', ' +
		(document.querySelector('#all-next').disabled ? 'next off' : 'next on')`))
	require.NoError(t, err)
	assert.Equal(t, "prev on, next off", pager, "at once, not at the next refresh: the last page has no next")
	if *consoleScreenshot {
		browsertest.Screenshot(t, ctx, consoleScreenshotPath)
	}
	for _, id := range ids() {
		seen[id]++
	}
	marked += yours()
	assert.Len(t, seen, 56, "every subscription on one of the pages")
	for id, n := range seen {
		assert.Equal(t, 1, n, "subscription %s shows once", id)
	}
	assert.Equal(t, 4, marked, "Ann's four are marked as shown above")
	step("back", chromedp.Click(chromedp.ID("all-prev")))
	wait("the first page again", `document.querySelectorAll('#all-list tr.sub').length === 50`)

	reason := `document.querySelector('#all-list [data-sub="` + general + `"]')`
	onFirstPage, err := chromedp.Run(ctx, chromedp.Evaluate[bool](reason+` !== null`))
	require.NoError(t, err)
	if !onFirstPage { // ids are random: General's may sort among the last six
		step("to General's page", chromedp.Click(chromedp.ID("all-next")))
		wait("General's page", reason+` !== null`)
	}
	step("pause messages of General as the operator", chromedp.Click(chromedp.CSS(`#all-list [data-sub="`+general+`"] button[data-action="pause"]`)))
	wait("its reason's time reads as every other", reason+`.textContent.includes('paused by an operator at ') &&
		/paused by an operator at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[^T]/.test(`+reason+`.textContent)`)
	assert.Contains(t, text("#status"), "messages of General", "the status line names the room too")
	require.Empty(t, browserProblems(log), "the browser reported problems")
	assert.False(t, strings.Contains(c.Logs.String(), w.annToken), "the token is never logged")
}
