package webpage_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hipchat-connector/hipchat-connector/internal/webpage"
	"github.com/hipchat-connector/hipchat-connector/internal/webpage/webpagetest"
)

// page is a page of its own with one script, served as a page is: exactly "/p" and "/p/…".
func page(t *testing.T, files fstest.MapFS) *httptest.Server {
	t.Helper()
	h := webpage.Handler(files, "/p", "/p/")
	mux := http.NewServeMux()
	mux.Handle("GET /p", h)
	mux.Handle("GET /p/", h)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

var onePage = fstest.MapFS{
	"index.html": {Data: []byte(`<!doctype html><link rel="stylesheet" href="/p/shared/base.css"><script type="module" src="/p/js/main.js"></script>`)},
	"js/main.js": {Data: []byte(`import { el } from '../shared/render.js';`)},
}

// TestSharedFilesAreServedToEveryPage: the base stylesheet and the shared modules are served under
// the page's own asset prefix, beside its files, with their types and the page's CSP; nothing else
// under shared/ is.
func TestSharedFilesAreServedToEveryPage(t *testing.T) {
	ts := page(t, onePage)
	for _, tc := range []struct{ path, contentType string }{
		{"/p", "text/html; charset=utf-8"},
		{"/p/js/main.js", "text/javascript; charset=utf-8"},
		{"/p/shared/base.css", "text/css; charset=utf-8"},
		{"/p/shared/api.js", "text/javascript; charset=utf-8"},
		{"/p/shared/render.js", "text/javascript; charset=utf-8"},
		{"/p/shared/page.js", "text/javascript; charset=utf-8"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := webpagetest.Get(t, http.MethodGet, ts.URL+tc.path)
			webpagetest.CheckServed(t, resp, body, tc.contentType, webpage.ContentSecurityPolicy)
		})
	}
	for _, path := range []string{"/p/shared/", "/p/shared", "/p/shared/nope.js", "/shared/base.css", "/p/base.css"} {
		if resp, _ := webpagetest.Get(t, http.MethodGet, ts.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestAPageCannotHaveASharedDirOfItsOwn: a page's file under shared/ would hide a shared one (or be
// hidden by it), so the handler refuses it, as it refuses any broken build.
func TestAPageCannotHaveASharedDirOfItsOwn(t *testing.T) {
	files := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "shared/base.css": {Data: []byte("body {}")}}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "shared/base.css") {
			t.Errorf("recovered %v, want a panic naming shared/base.css", r)
		}
	}()
	webpage.Handler(files, "/p", "/p/")
}

// TestSharedModulesBuildNoHTMLFromText: the CSP forbids inline script, and the modules every page
// loads put what a server says in as text only: no markup built from strings, no cookie, no
// storage that outlives the tab, nothing fetched from another origin.
func TestSharedModulesBuildNoHTMLFromText(t *testing.T) {
	ts := page(t, onePage)
	for _, name := range []string{"api.js", "render.js", "page.js"} {
		_, script := webpagetest.Get(t, http.MethodGet, ts.URL+"/p/shared/"+name)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
			"document.cookie", "localStorage", "http://", "https://"} {
			if strings.Contains(script, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}
