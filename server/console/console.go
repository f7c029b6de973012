// Package console is the connector's web page at /console: a subscriber signs in with a HipChat
// token and sees that connection's callback subscriptions, their endpoint circuits and delivery
// health, each delivery with its attempts, and resends, recovers, pauses, resumes, sends a test
// event or rotates the signing secret; an operator signs in with the operator credential and sees
// every subscription, filtered by status, pauses and resumes any, and reads the instance's health
// from /metrics.
//
// The page is plain HTML, CSS and JavaScript modules embedded in the binary, with no build step, on
// the stylesheet and modules it shares with the emulator's sandbox (internal/webpage); it
// talks only to the connector's own HTTP API, like any other client, so it needs no private route
// and holds no secret: both credentials are typed in and kept in the tab's sessionStorage, never in
// a cookie. Every answer carries a strict Content-Security-Policy (no inline script or style, no
// other origin) and X-Content-Type-Options: nosniff.
package console

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/hipchat-connector/hipchat-connector/internal/webpage"
)

// ContentSecurityPolicy is the policy of the page and its assets (webpage.ContentSecurityPolicy).
const ContentSecurityPolicy = webpage.ContentSecurityPolicy

// Path is the page's own path; its scripts, styles and icon are under Path + "/".
const Path = "/console"

//go:embed assets
var embedded embed.FS

// Handler serves the page at Path and its assets under Path+"/", the shared ones under
// Path+"/shared/"; any other path, or a directory, is 404. The caller routes GET of exactly Path
// and of Path+"/…" to it.
func Handler() http.Handler { return HandlerWithNotFound(nil) }

// HandlerWithNotFound is Handler with notFound answering the paths under Path+"/" that are no file
// of the page (nil: a plain-text 404), so that the connector answers them in its error shape.
func HandlerWithNotFound(notFound http.Handler) http.Handler {
	files, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic("console: the embedded assets: " + err.Error()) // only a broken build gets here
	}
	return webpage.HandlerWithNotFound(files, Path, Path+"/", notFound)
}
