package sandbox_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/browsertest"
)

// TestBrowserListsStayReadable drives what issue 26 found hard to read on the page: with 32 rooms
// the room list scrolls in its own box and a filter narrows it; the room's webhooks show their
// values as words (who created one by name, no JSON) and wrap a URL only after a /, never inside a
// word; 27 webhook calls show newest first, 20 a page, older ones a click away, each call once;
// and the page is centred as the console is.
func TestBrowserListsStayReadable(t *testing.T) {
	ctx := browsertest.New(t, "the sandbox page's browser test")
	ts := newEmulator(t)
	w := seed(t, ts.URL)
	c := simclient.New(ts.URL)
	bg := context.Background()
	for i := 1; i <= 30; i++ {
		if _, err := c.CreateRoom(bg, w.ann.Token, fmt.Sprintf("Team %02d", i), "public"); err != nil {
			t.Fatal(err)
		}
	}
	general := strconv.Itoa(w.general)
	for i := range 27 { // each calls the room's webhook once
		poster := w.ann.Token
		if i%2 == 1 {
			poster = w.bob.Token
		}
		if _, err := c.PostMessage(bg, poster, general, fmt.Sprintf("call %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for calls, _ := c.WebhookCalls(bg); len(calls) < 27; calls, _ = c.WebhookCalls(bg) {
		if time.Now().After(deadline) {
			t.Fatalf("the emulator made %d of 27 webhook calls", len(calls))
		}
		time.Sleep(10 * time.Millisecond)
	}
	log := browsertest.Watch(ctx)

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v (console: %q)", what, err, problems(log))
		}
	}
	wait := func(what, predicate string) {
		t.Helper()
		predicate = "(() => { try { return !!(" + predicate + "); } catch { return false; } })()"
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#app').innerText`))
			t.Fatalf("waiting until %s: %v (console: %q; page: %q)", what, err, problems(log), shown)
		}
	}
	step("a wide screen", chromedp.EmulateViewport(1600, 1200))
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	step("sign in", chromedp.WaitVisible(chromedp.ID("sign-in-token")), chromedp.SendKeys(chromedp.ID("sign-in-token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in-form button")), chromedp.WaitVisible(chromedp.CSS(`#rooms button[data-room="`+general+`"]`)))

	wait("the page is centred", `(() => {
		const b = document.body.getBoundingClientRect();
		return b.left > 50 && Math.abs(b.left - (document.documentElement.clientWidth - b.right)) <= 2;
	})()`)
	wait("32 rooms scroll in their own box", `document.querySelectorAll('#rooms li').length === 32 &&
		document.querySelector('#rooms').scrollHeight > document.querySelector('#rooms').clientHeight &&
		document.querySelector('#rooms').clientHeight <= 300 && document.querySelector('#rooms-count').textContent === '32 rooms'`)
	step("filter the rooms", chromedp.SendKeys(chromedp.ID("rooms-filter"), "team 2"))
	wait("only the matching rooms show", `document.querySelectorAll('#rooms li').length === 10 &&
		[...document.querySelectorAll('#rooms li')].every(li => li.textContent.startsWith('Team 2')) &&
		document.querySelector('#rooms-count').textContent === '10 of 32 rooms'`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const f = document.querySelector('#rooms-filter');
		f.value = ''; f.dispatchEvent(new Event('input')); return true; })()`)); err != nil {
		t.Fatalf("clear the filter: %v", err)
	}
	wait("all rooms again", `document.querySelectorAll('#rooms li').length === 32`)

	step("choose General", chromedp.Click(chromedp.CSS(`#rooms button[data-room="`+general+`"]`)))
	wait("the webhook's values read as words", `(() => {
		const box = document.querySelector('#webhooks');
		const url = box.querySelector('td .mono');
		const cell = url.closest('td');
		return box.textContent.includes('Group Admin (@admin)') && !box.textContent.includes('{') &&
			url.querySelectorAll('wbr').length >= 3 && url.textContent.endsWith('/hipchat/new-message') &&
			getComputedStyle(cell).overflowWrap === 'normal' && getComputedStyle(cell).wordBreak === 'normal';
	})()`)
	seqs := func() []int {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll('#webhook-calls tbody tr')].map(r => Number(r.dataset.seq))`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wait("the newest 20 calls, newest first", `document.querySelectorAll('#webhook-calls tbody tr').length === 20 &&
		document.querySelector('#calls-newer').disabled && !document.querySelector('#calls-older').disabled &&
		document.querySelector('#webhook-calls').textContent.includes('OnNewMessage flow (1)')`)
	first := seqs()
	step("older calls", chromedp.Click(chromedp.ID("calls-older")))
	wait("the 7 older ones", `document.querySelectorAll('#webhook-calls tbody tr').length === 7 &&
		document.querySelector('#calls-page').textContent === 'calls 21–27, newest first'`)
	pager, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#calls-newer').disabled ? 'newer off' : 'newer on') + ', ' +
		(document.querySelector('#calls-older').disabled ? 'older off' : 'older on')`))
	if err != nil || pager != "newer on, older off" {
		t.Errorf("on the last page of calls: %q, %v; want newer on, older off", pager, err)
	}
	all := append(first, seqs()...)
	for i := 1; i < len(all); i++ {
		if all[i] >= all[i-1] {
			t.Fatalf("calls not newest first, each once: %v", all)
		}
	}
	if len(all) != 27 {
		t.Fatalf("%d calls over the two pages, want 27", len(all))
	}
	step("newer again", chromedp.Click(chromedp.ID("calls-newer")))
	wait("the first page again", `document.querySelectorAll('#webhook-calls tbody tr').length === 20 && document.querySelector('#calls-newer').disabled`)
	if problems := problems(log); len(problems) > 0 {
		t.Errorf("the browser reported: %q", problems)
	}
}
