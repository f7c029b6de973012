// Package webpage serves a web page embedded in the binary, with its scripts, styles and icons: the
// emulator's sandbox and the connector's console are both one. It owns what the pages share, embedded
// here and served to each page under its asset prefix as shared/…: the base stylesheet (base.css)
// and the JavaScript modules of requests (api.js), DOM building and times (render.js), and the
// status line, error box and busy buttons (page.js). Every answer carries a strict
// Content-Security-Policy (no inline script or style, no other origin), nosniff, no referrer and no
// framing; each file has an explicit content type and an ETag, and is revalidated every time.
package webpage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// ContentSecurityPolicy is the policy of a page and its assets: only this origin's scripts, styles
// and connections, images from here or data: URLs, no framing, no base, forms only to here.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// sharedDir is the directory, under a page's asset prefix, of what every page shares.
const sharedDir = "shared"

//go:embed shared
var shared embed.FS

// asset is one embedded file, read once.
type asset struct {
	content []byte
	etag    string
}

// Handler serves files, a tree with index.html at its root, read once: index.html at exactly
// pagePath, and every other file at assetPrefix + its name, with the shared files at
// assetPrefix + "shared/" + theirs. Anything else, a directory, and index.html under assetPrefix
// are a plain-text 404. The caller routes GET (and HEAD) of pagePath and of assetPrefix+"…" to it.
// It panics when files cannot be read or have a shared/ of their own: only a broken build gets
// there.
func Handler(files fs.FS, pagePath, assetPrefix string) http.Handler {
	return HandlerWithNotFound(files, pagePath, assetPrefix, nil)
}

// HandlerWithNotFound is Handler with notFound answering what is no file of the page (nil: the
// plain-text 404), so that a page served among an API's routes answers in that API's error shape.
func HandlerWithNotFound(files fs.FS, pagePath, assetPrefix string, notFound http.Handler) http.Handler {
	if notFound == nil {
		notFound = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "404 page not found", http.StatusNotFound)
		})
	}
	assets := map[string]asset{}
	if err := readAssets(files, assets); err != nil {
		panic("webpage: reading the embedded assets: " + err.Error())
	}
	for name := range assets {
		if strings.HasPrefix(name, sharedDir+"/") {
			panic("webpage: the page has a file under " + sharedDir + "/, which is the shared files' place: " + name)
		}
	}
	if err := readAssets(shared, assets); err != nil {
		panic("webpage: reading the shared assets: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		name := "index.html"
		if r.URL.Path != pagePath {
			name = strings.TrimPrefix(r.URL.Path, assetPrefix)
		}
		a, ok := assets[name]
		if !ok || name == "" || name == "index.html" && r.URL.Path != pagePath {
			notFound.ServeHTTP(w, r)
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

// readAssets reads every file of files into assets, by its name in files.
func readAssets(files fs.FS, assets map[string]asset) error {
	return fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(files, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		sum := sha256.Sum256(content)
		assets[name] = asset{content: content, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
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
