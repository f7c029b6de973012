package swagger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// Handler returns an http.Handler that serves the definition rendered for publicURL (see Definition)
// to GET and HEAD, with an ETag so that clients can revalidate; other methods get 405. The definition
// is rendered once, here, so a bad publicURL is an error at start-up (wrapping ErrPublicURL), not at
// the first request. The handler does not depend on a router: with Gin, use gin.WrapH.
func Handler(publicURL string) (http.Handler, error) {
	body, err := Definition(publicURL)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return &definitionHandler{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}

type definitionHandler struct {
	body []byte
	etag string
}

func (h *definitionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("ETag", h.etag)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, DefinitionFile, time.Time{}, bytes.NewReader(h.body))
}
