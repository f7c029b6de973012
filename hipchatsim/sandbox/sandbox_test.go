package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/sandbox"
	"github.com/hipchat-connector/hipchat-connector/internal/webpage/webpagetest"
)

const adminToken = "sandbox-test-admin-token"

// The add-on client the emulator knows, which pushes glances in the browser test.
const (
	glanceAddon  = "glance-addon"
	glanceSecret = "glance-secret"
)

// newEmulator serves a fresh emulator over real HTTP.
func newEmulator(t *testing.T) *httptest.Server {
	t.Helper()
	opts := hipchatsim.DefaultOptions()
	opts.AdminToken = adminToken
	opts.Fixtures = &hipchatsim.Fixtures{Addons: []hipchatsim.FixtureAddon{
		{ClientID: glanceAddon, ClientSecret: glanceSecret, Name: "Build Glance"}}}
	srv, err := hipchatsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

var get = webpagetest.Get

// TestPageAndAssets: the page and each asset, its own and those it shares with the connector's
// console (shared/), come with their type, the CSP and nosniff; nothing else under /sandbox/ is
// served, and the HipChat API and the side channel answer as before.
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
		{"/sandbox/shared/base.css", "text/css; charset=utf-8"},
		{"/sandbox/shared/api.js", "text/javascript; charset=utf-8"},
		{"/sandbox/shared/render.js", "text/javascript; charset=utf-8"},
		{"/sandbox/shared/page.js", "text/javascript; charset=utf-8"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, "GET", ts.URL+tc.path)
			webpagetest.CheckServed(t, resp, body, tc.contentType, sandbox.ContentSecurityPolicy)
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
	webpagetest.CheckNothingInline(t, page, "/sandbox/")
}
