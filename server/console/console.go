// Package console is the connector's web page at /console: a subscriber signs in with a HipChat
// token and sees that connection's callback subscriptions, their endpoint circuits and delivery
// health, each delivery with its attempts, and resends, recovers, pauses, resumes, sends a test
// event or rotates the signing secret; an operator signs in with the operator credential and sees
// every subscription, filtered by status, pauses and resumes any, and reads the instance's health
// from /metrics.
//
// The page is plain HTML, CSS and JavaScript modules embedded in the binary, with no build step; it
// talks only to the connector's own HTTP API, like any other client, so it needs no private route
// and holds no secret: both credentials are typed in and kept in the tab's sessionStorage, never in
// a cookie. Every answer carries a strict Content-Security-Policy (no inline script or style, no
// other origin) and X-Content-Type-Options: nosniff.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// ContentSecurityPolicy is the policy of the page and its assets: only this origin's scripts, styles
// and connections, images from here or data: URLs, no framing, no base, forms only to here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Path is the page's own path; its scripts, styles and icon are under Path + "/".
const Path = "/console"

//go:embed assets
var embedded embed.FS

// asset is one embedded file, read once.
type asset struct {
	content []byte
	etag    string
}

// Handler serves the page at Path and its assets under Path+"/"; any other path, or a directory,
// is 404. The caller routes GET of exactly Path and of Path+"/…" to it.
func Handler() http.Handler {
	assets := map[string]asset{}
	err := fs.WalkDir(embedded, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := embedded.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(content)
		assets[strings.TrimPrefix(name, "assets/")] = asset{content: content, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: reading the embedded assets: " + err.Error()) // only a broken build gets here
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		name := "index.html"
		if r.URL.Path != Path {
			name = strings.TrimPrefix(r.URL.Path, Path+"/")
		}
		a, ok := assets[name]
		if !ok || name == "" || name == "index.html" && r.URL.Path != Path {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		// The page changes with the binary: revalidate every time (the ETag makes it a 304).
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if ctype := contentType(name); ctype != "" {
			h.Set("Content-Type", ctype)
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.content))
	})
}

// contentType is set explicitly so that nosniff never meets a guessed type (module scripts must be
// served as JavaScript).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}
