package connector_test

import (
	"context"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
)

func TestSessionIsTheTokensOwnAndScopes(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	s, err := newClient(connector.ClientOptions{}).Session(context.Background(), connector.NewConnection(up.ann.Token, up.url))
	require.NoError(t, err)
	require.NotNil(t, s.Owner)
	assert.Equal(t, "ann", s.Owner.MentionName)
	assert.Contains(t, s.Scopes, "send_notification")
}

// The session call carries the token in its path; no error of it may carry the token on.
func TestSessionErrorsDoNotCarryTheToken(t *testing.T) {
	const token = "a-token-that-must-not-leak-0123456789"
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens: the transport error names the URL
	_, err := newClient(connector.ClientOptions{}).Session(context.Background(), connector.NewConnection(token, dead.URL))
	require.Error(t, err)
	assert.Equal(t, connector.KindUnavailable, connector.KindOf(err))
	assert.NotContains(t, err.Error(), token)
	assert.Contains(t, err.Error(), "[token]", "the cause keeps the rest of the URL")
}

func TestShareFileSendsMultipartRelated(t *testing.T) {
	var contentType, body string
	hipchat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contentType = r.Header.Get("Content-Type")
		raw := make([]byte, 4096)
		n, _ := r.Body.Read(raw)
		body = string(raw[:n])
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hipchat.Close)
	err := newClient(connector.ClientOptions{}).ShareFile(context.Background(), connector.NewConnection("t", hipchat.URL), "Ops Team",
		connector.SharedFile{Name: "notes é.txt", ContentType: "text/plain", Content: []byte("hello"), Message: `say "hi"`})
	require.NoError(t, err)
	assert.Regexp(t, `^multipart/related; boundary=\S+$`, contentType)
	assert.Contains(t, body, `{"message":"say \"hi\""}`, "the metadata part is JSON")
	assert.Contains(t, body, `name="metadata"`)
	assert.Contains(t, body, `name="file"`, "HipChat finds the file by its part's name")
	assert.Contains(t, body, `name="file"; filename*=utf-8''notes%20%C3%A9.txt`, "a name beyond ASCII is encoded as RFC 2231 says")
	assert.Contains(t, body, "\r\n\r\nhello\r\n", "the bytes as they are")
}

func TestShareFileQuotesAPlainName(t *testing.T) {
	var disposition string
	hipchat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err == nil && mt == "multipart/related" {
			reader := multipart.NewReader(r.Body, params["boundary"])
			for part, err := reader.NextPart(); err == nil; part, err = reader.NextPart() {
				_, dparams, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
				if dparams["name"] == "file" {
					disposition = part.Header.Get("Content-Disposition")
					assert.Equal(t, `release "1.2".txt`, dparams["filename"])
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hipchat.Close)
	err := newClient(connector.ClientOptions{}).ShareFile(context.Background(), connector.NewConnection("t", hipchat.URL), "1",
		connector.SharedFile{Name: `release "1.2".txt`, ContentType: "text/plain", Content: []byte("x")})
	require.NoError(t, err)
	assert.Equal(t, `attachment; name="file"; filename="release \"1.2\".txt"`, disposition)
}

// A session call HipChat does not answer in time is a timeout still, once its token is scrubbed:
// the HTTP API answers it 504 upstream_timeout, as every other call's.
func TestASessionCallThatTimesOutStaysATimeout(t *testing.T) {
	const token = "a-token-that-must-not-leak-0123456789"
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	_, err := newClient(connector.ClientOptions{Timeout: 50 * time.Millisecond}).Session(context.Background(), connector.NewConnection(token, slow.URL))
	var upstream *connector.Error
	require.ErrorAs(t, err, &upstream)
	assert.NotContains(t, err.Error(), token)
	var netErr net.Error
	require.ErrorAs(t, upstream.Cause, &netErr, "the scrubbed cause still says what kind of failure it was")
	assert.True(t, netErr.Timeout())
}
