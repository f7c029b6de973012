package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/internal/webpage/webpagetest"
	"github.com/hipchat-connector/hipchat-connector/server/console"
)

// newPage serves the console as routes.go mounts it: exactly Path, and Path+"/…".
func newPage(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET "+console.Path, console.Handler())
	mux.Handle("GET "+console.Path+"/", console.Handler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	return webpagetest.Get(t, http.MethodGet, url)
}

// TestPageAndAssets: the page and each asset, its own and those it shares with the emulator's
// sandbox (shared/), come with their type, the CSP and nosniff, and no cookie; nothing else under
// /console/ is served.
func TestPageAndAssets(t *testing.T) {
	ts := newPage(t)
	for _, tc := range []struct {
		path, contentType string
	}{
		{"/console", "text/html; charset=utf-8"},
		{"/console/console.css", "text/css; charset=utf-8"},
		{"/console/js/main.js", "text/javascript; charset=utf-8"},
		{"/console/js/api.js", "text/javascript; charset=utf-8"},
		{"/console/js/render.js", "text/javascript; charset=utf-8"},
		{"/console/js/metrics.js", "text/javascript; charset=utf-8"},
		{"/console/js/health.js", "text/javascript; charset=utf-8"},
		{"/console/js/rooms.js", "text/javascript; charset=utf-8"},
		{"/console/js/endpoints.js", "text/javascript; charset=utf-8"},
		{"/console/js/operator.js", "text/javascript; charset=utf-8"},
		{"/console/favicon.svg", "image/svg+xml"},
		{"/console/shared/base.css", "text/css; charset=utf-8"},
		{"/console/shared/api.js", "text/javascript; charset=utf-8"},
		{"/console/shared/render.js", "text/javascript; charset=utf-8"},
		{"/console/shared/page.js", "text/javascript; charset=utf-8"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, ts.URL+tc.path)
			webpagetest.CheckServed(t, resp, body, tc.contentType, console.ContentSecurityPolicy)
			if got := resp.Header.Values("Set-Cookie"); len(got) > 0 {
				t.Errorf("Set-Cookie %q", got)
			}
		})
	}
	for _, path := range []string{"/console/", "/console/js/", "/console/nope.js", "/console/index.html", "/console/assets/console.css"} {
		if resp, _ := get(t, ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestPageHasNothingInline: the CSP forbids inline script and style, so the page must not rely on
// them, nor load anything from another origin; and no script builds HTML from text.
func TestPageHasNothingInline(t *testing.T) {
	ts := newPage(t)
	_, page := get(t, ts.URL+"/console")
	webpagetest.CheckNothingInline(t, page, "/console/")
	for _, name := range []string{"main.js", "api.js", "render.js", "metrics.js", "health.js", "rooms.js", "endpoints.js", "operator.js"} {
		_, script := get(t, ts.URL+"/console/js/"+name)
		script = strings.ReplaceAll(script, "'http://www.w3.org/2000/svg'", "") // a namespace, not a fetch
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "document.cookie", "localStorage", "http://", "https://"} {
			if strings.Contains(script, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}
