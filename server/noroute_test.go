package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every answer of the API is its one error shape or a page: no redirect for a trailing slash or a
// doubled one, a console path that is no file answers route_not_found, and GET / says where the
// definition and the console are.
func TestAnswersOutsideTheRoutesAreTheErrorShape(t *testing.T) {
	srv, err := New(Options{PublicURL: "http://connector.test"}, testDeps())
	require.NoError(t, err)
	for _, tc := range []struct {
		method, path string
		status       int
		says         []string
	}{
		{"GET", "/rooms/", 404, []string{"GET /rooms/", "try /rooms;", "/swagger.json"}},
		{"POST", "/rooms/1/messages/", 404, []string{"POST /rooms/1/messages/", "try /rooms/1/messages;"}},
		{"GET", "//rooms", 404, []string{"no operation at GET //rooms"}},
		{"GET", "/console/", 404, []string{"no page at /console/: the web console is at /console"}},
		{"GET", "/console/nope.js", 404, []string{"the web console is at /console"}},
		{"GET", "/", 404, []string{"/swagger.json", "the web console is at /console"}},
		{"GET", "/nope", 404, []string{"/swagger.json", "/console"}},
		{"DELETE", "/healthz", 405, []string{"DELETE is not an operation of /healthz"}},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, "http://connector.test"+tc.path, strings.NewReader("")))
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Empty(t, rec.Header().Get("Location"), "no redirect")
			assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			assert.NotEmpty(t, body.Error.Code)
			for _, want := range tc.says {
				assert.Contains(t, body.Error.Message, want)
			}
		})
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://connector.test/console", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "the page itself")
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
}
