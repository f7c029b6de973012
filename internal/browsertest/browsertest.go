// Package browsertest starts a headless Chromium for the browser tests of the web pages (the
// emulator's sandbox, the connector's console), collects what the page's console reports and
// writes screenshots. Only tests import it; a machine without Chromium skips those tests (CI
// installs Debian's chromium, see .ci/run).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns a Chromium or Chrome binary ($CHROMIUM, else the first on PATH), or skips the
// test with a message saying how to run what, e.g. "the console's browser test".
func Chromium(t *testing.T, what string) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell on PATH and $CHROMIUM): " +
		"install it (apt-get install chromium) to run " + what)
	return ""
}

// New starts a headless Chromium (Chromium(t, what)) with a fresh profile and the flags that keep
// it off the network (the machines that run this have none), and returns a tab's context, which
// ends after 3 minutes (a net for a test that hangs, far beyond what a loaded machine needs) or
// with the test.
func New(t *testing.T, what string) context.Context {
	t.Helper()
	chrome := Chromium(t, what)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	return tab
}

// Log collects what the tab's console and the browser log say.
type Log struct {
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// Watch collects the console messages of the tab ctx from now on.
func Watch(ctx context.Context) *Log {
	l := &Log{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.messages = append(l.messages, m)
			l.mu.Unlock()
		}
	}()
	return l
}

// Messages returns the messages so far, oldest first.
func (l *Log) Messages() []chromedp.ConsoleMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.messages)
}

// Screenshot writes the whole page of tab ctx as a PNG to path, making its directory.
func Screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { // #nosec G301 -- docs/screenshots in the checkout, read by everyone
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil { // #nosec G306 -- a screenshot committed under docs/, meant to be read
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}
