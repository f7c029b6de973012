package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/sandbox"
)

const adminToken = "sandbox-test-admin-token"

// newEmulator serves a fresh emulator over real HTTP.
func newEmulator(t *testing.T) *httptest.Server {
	t.Helper()
	opts := hipchatsim.DefaultOptions()
	opts.AdminToken = adminToken
	srv, err := hipchatsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
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

// TestPageAndAssets: the page and each asset come with their type, the CSP and nosniff; nothing else
// under /sandbox/ is served, and the HipChat API and the side channel answer as before.
func TestPageAndAssets(t *testing.T) {
	ts := newEmulator(t)
	for _, tc := range []struct {
		path, contentType string
	}{
		{"/", "text/html; charset=utf-8"},
		{"/sandbox/sandbox.css", "text/css; charset=utf-8"},
		{"/sandbox/js/main.js", "text/javascript; charset=utf-8"},
		{"/sandbox/js/api.js", "text/javascript; charset=utf-8"},
		{"/sandbox/js/tokens.js", "text/javascript; charset=utf-8"},
		{"/sandbox/js/render.js", "text/javascript; charset=utf-8"},
		{"/sandbox/favicon.svg", "image/svg+xml"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, "GET", ts.URL+tc.path)
			if resp.StatusCode != http.StatusOK || body == "" {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != sandbox.ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if strings.Contains(body, adminToken) {
				t.Error("the admin token is in the page")
			}
		})
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/sandbox/", http.StatusNotFound},
		{"GET", "/sandbox/js/", http.StatusNotFound},
		{"GET", "/sandbox/nope.js", http.StatusNotFound},
		{"GET", "/index.html", http.StatusNotFound},
		{"GET", "/sandbox/../routes.go", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"HEAD", "/", http.StatusOK},
		{"GET", "/v2/room", http.StatusUnauthorized},
		{"GET", "/v2/capabilities", http.StatusOK},
		{"GET", "/_sim/calls", http.StatusOK},
	} {
		if resp, _ := get(t, tc.method, ts.URL+tc.path); resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

// TestPageHasNothingInline: the CSP forbids inline script and style, so the page must not rely on
// them (the browser test would see them refused; this says where), nor load anything from elsewhere.
func TestPageHasNothingInline(t *testing.T) {
	_, page := get(t, "GET", newEmulator(t).URL+"/")
	scripts := regexp.MustCompile(`<script[^>]*>([^<]*)</script>`).FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Error("no script tag")
	}
	for _, m := range scripts {
		if !strings.Contains(m[0], ` src="/sandbox/`) || strings.TrimSpace(m[1]) != "" {
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
}
