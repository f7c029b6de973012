// Package sandbox is the emulator's web page: a flow designer signs in with a HipChat token, watches
// a room's history update and the glances add-ons push to it (the last update of each, from GET
// /_sim/room/{room}/glances), and posts the messages, notifications and files that fire a flow. The
// page is plain HTML, CSS and JavaScript modules embedded in the binary, on the stylesheet and
// modules it shares with the connector's console (internal/webpage); it talks to the emulator only
// through the HipChat v2 API and the /_sim/ side channel, like any other client, so it needs no private
// endpoint and holds no secret: the token is typed in and kept in the tab's sessionStorage.
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
	"embed"
	"io/fs"
	"net/http"

	"github.com/hipchat-connector/hipchat-connector/internal/webpage"
)

// ContentSecurityPolicy is the policy of the page and its assets (webpage.ContentSecurityPolicy).
const ContentSecurityPolicy = webpage.ContentSecurityPolicy

// AssetPrefix is the path under which the page's scripts, styles and icon are served.
const AssetPrefix = "/sandbox/"

//go:embed assets
var embedded embed.FS

// Handler serves the page at "/" and its assets under AssetPrefix, the shared ones under
// AssetPrefix+"shared/"; any other path, or a directory, is 404. The caller routes GET (and HEAD)
// of exactly "/" and of AssetPrefix+"…" to it.
func Handler() http.Handler {
	files, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic("sandbox: the embedded assets: " + err.Error()) // only a broken build gets here
	}
	return webpage.Handler(files, "/", AssetPrefix)
}
