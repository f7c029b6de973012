// Package webpagetest holds the checks the tests of every embedded page (the emulator's sandbox,
// the connector's console) make of how it is served: each asset with its type, the page's CSP and
// nosniff, and a page that relies on nothing inline and loads nothing from elsewhere.
package webpagetest

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Get makes one request and returns the answer and its body; a transport failure fails the test.
func Get(t testing.TB, method, url string) (*http.Response, string) {
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

// CheckServed checks an asset's answer: 200 with a body, contentType, the page's csp and nosniff.
func CheckServed(t testing.TB, resp *http.Response, body, contentType, csp string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || body == "" {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	if got := resp.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != csp {
		t.Errorf("Content-Security-Policy %q", got)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}
}

var (
	scriptTag = regexp.MustCompile(`<script[^>]*>([^<]*)</script>`)
	inline    = []*regexp.Regexp{
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`),
	}
)

// CheckNothingInline checks that page has script tags, each loading a file under assets (such as
// "/console/") and holding no code, and no inline style, event handler or reference to another
// origin: what the pages' CSP would refuse.
func CheckNothingInline(t testing.TB, page, assets string) {
	t.Helper()
	scripts := scriptTag.FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Error("no script tag")
	}
	for _, m := range scripts {
		if !strings.Contains(m[0], ` src="`+assets) || strings.TrimSpace(m[1]) != "" {
			t.Errorf("inline or foreign script %q", m[0])
		}
	}
	for _, bad := range inline {
		for _, m := range bad.FindAllString(page, -1) {
			t.Errorf("page has %q", m)
		}
	}
}
