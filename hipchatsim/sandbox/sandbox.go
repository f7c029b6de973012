// Package sandbox is the emulator's web page: a flow designer signs in with a HipChat token, watches
// a room's history update, and posts the messages, notifications and files that fire a flow. The page
// is plain HTML, CSS and JavaScript modules embedded in the binary; it talks to the emulator only
// through the HipChat v2 API and the /_sim/ side channel, like any other client, so it needs no
// private endpoint and holds no secret: the token is typed in and kept in the tab's sessionStorage.
//
// Posting as another user needs that user's token. The page mints one with the signed-in token
// (POST /v2/oauth/token grant_type=personal with user_id, which the emulator grants to a group admin's
// token, as HipChat let a user make a personal token), keeps it beside the signed-in token in
// sessionStorage and revokes it on sign-out; with a token that is not a group admin's, the designer
// pastes the user's token instead.
//
// Every answer carries a strict Content-Security-Policy (no inline script or style, no other origin)
// and X-Content-Type-Options: nosniff.
package sandbox

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
// and connections, images from here or data: URLs, and no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// AssetPrefix is the path under which the page's scripts, styles and icon are served.
const AssetPrefix = "/sandbox/"

//go:embed assets
var embedded embed.FS

// asset is one embedded file, read once.
type asset struct {
	content []byte
	etag    string
}

// Handler serves the page at "/" and its assets under AssetPrefix; any other path, or a directory,
// is 404. The caller routes GET (and HEAD) of exactly "/" and of AssetPrefix+"…" to it.
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
		panic("sandbox: reading the embedded assets: " + err.Error()) // only a broken build gets here
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		name := "index.html"
		if r.URL.Path != "/" {
			name = strings.TrimPrefix(r.URL.Path, AssetPrefix)
		}
		a, ok := assets[name]
		if !ok || name == "" {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		// The page is small and changes with the binary: revalidate every time (the ETag makes it a 304).
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
