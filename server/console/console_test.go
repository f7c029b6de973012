package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

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
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestPageAndAssets: the page and each asset come with their type, the CSP and nosniff, and no
// cookie; nothing else under /console/ is served.
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
		{"/console/favicon.svg", "image/svg+xml"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, ts.URL+tc.path)
			if resp.StatusCode != http.StatusOK || body == "" {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != console.ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
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
	scripts := regexp.MustCompile(`<script[^>]*>([^<]*)</script>`).FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Error("no script tag")
	}
	for _, m := range scripts {
		if !strings.Contains(m[0], ` src="/console/`) || strings.TrimSpace(m[1]) != "" {
			t.Errorf("inline or foreign script %q", m[0])
		}
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`),
	} {
		for _, m := range bad.FindAllString(page, -1) {
			t.Errorf("page has %q", m)
		}
	}
	for _, name := range []string{"main.js", "api.js", "render.js", "metrics.js"} {
		_, script := get(t, ts.URL+"/console/js/"+name)
		script = strings.ReplaceAll(script, "'http://www.w3.org/2000/svg'", "") // a namespace, not a fetch
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "document.cookie", "localStorage", "http://", "https://"} {
			if strings.Contains(script, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}
