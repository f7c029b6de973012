package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo is a backend that answers 201 with its name, the path and query, and the body it got.
func echo(t *testing.T, name string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Backend", name)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, name+" "+r.URL.RequestURI()+" "+string(body)+" "+r.Header.Get("X-Test"))
	}))
	t.Cleanup(s.Close)
	return s
}

func balancerOver(t *testing.T, lines ...string) *httptest.Server {
	file := filepath.Join(t.TempDir(), "backends")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	lb := httptest.NewServer(newBalancer(file))
	t.Cleanup(lb.Close)
	return lb
}

func post(t *testing.T, url, body string) (int, string, http.Header) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Test", "kept")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(got), resp.Header
}

// TestBalancerTakesTurnsAndPassesOverADeadBackend: requests go to the live backends in turn, with
// their path, query, headers and body; a backend that refuses connections is passed over.
func TestBalancerTakesTurnsAndPassesOverADeadBackend(t *testing.T) {
	a, b := echo(t, "a"), echo(t, "b")
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	lb := balancerOver(t, "# replicas", a.URL, "", dead.URL, b.URL+"/")
	seen := map[string]int{}
	for range 6 {
		code, body, header := post(t, lb.URL+"/hooks/x?y=1", "payload")
		require.Equal(t, http.StatusCreated, code, body)
		name := header.Get("X-Backend")
		assert.Equal(t, name+" /hooks/x?y=1 payload kept", body)
		seen[name]++
	}
	// Six turns over a, dead, b: two each, and the dead one's two went to the backend after it.
	assert.Equal(t, map[string]int{"a": 2, "b": 4}, seen, "the dead backend's turns went to the next one")
}

// TestBalancerRefusesWhatItCannotPass: no live backend is 502, a body over 1 MiB is 413, no
// backend listed yet is 502, and a backends file with a line that is not an http(s) URL is 502
// naming the line.
func TestBalancerRefusesWhatItCannotPass(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	code, body, _ := post(t, balancerOver(t, dead.URL).URL+"/x", "")
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Contains(t, body, "no backend answered")

	code, _, _ = post(t, balancerOver(t, echo(t, "a").URL).URL+"/x", strings.Repeat("x", maxBody+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)

	code, body, _ = post(t, balancerOver(t, "# none yet").URL+"/x", "")
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Contains(t, body, "no backend listed")

	code, body, _ = post(t, balancerOver(t, "127.0.0.1:8080").URL+"/x", "")
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Contains(t, body, `line 1: "127.0.0.1:8080" is not an http(s) URL`)
}
