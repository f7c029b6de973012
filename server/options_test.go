package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptionsDefaultsAreValid(t *testing.T) {
	require.NoError(t, Options{}.Validate())
	o := Options{}.withDefaults()
	assert.Equal(t, "127.0.0.1:8080", o.Addr)
	assert.Equal(t, "https://api.hipchat.com", o.HipChatURL)
	assert.False(t, o.AllowPrivateCallbacks)
	assert.Equal(t, int64(64<<10), o.MaxBodyBytes)
	assert.Positive(t, o.ReadHeaderTimeout)
	assert.NotNil(t, o.Logger)
	assert.NotNil(t, o.Clock)
}

func TestOptionsValidateRejectsWhatCannotWork(t *testing.T) {
	for name, tc := range map[string]struct {
		opts Options
		says string
	}{
		"addr without port":     {Options{Addr: "localhost"}, "addr"},
		"relative hipchat url":  {Options{HipChatURL: "api.hipchat.com"}, "hipchat-url"},
		"ftp hipchat url":       {Options{HipChatURL: "ftp://api.hipchat.com"}, "hipchat-url"},
		"hipchat url with user": {Options{HipChatURL: "https://u:pw@api.hipchat.com"}, "user info"},
		"hipchat url query":     {Options{HipChatURL: "https://api.hipchat.com?auth_token=x"}, "query"},
		"bad public url":        {Options{PublicURL: "connector.example.com"}, "public-url"},
		"negative timeout":      {Options{ReadTimeout: -time.Second}, "read timeout"},
		"negative shutdown":     {Options{ShutdownTimeout: -time.Second}, "shutdown timeout"},
		"negative body limit":   {Options{MaxBodyBytes: -1}, "max body bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.opts.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
			_, err = New(tc.opts, testDeps())
			assert.Error(t, err, "New refuses it at start")
		})
	}
	err := Options{HipChatURL: "https://u:pw@api.hipchat.com", PublicURL: "nope"}.Validate()
	assert.Contains(t, err.Error(), "hipchat-url")
	assert.Contains(t, err.Error(), "public-url", "every problem is reported at once")
	assert.NotContains(t, err.Error(), "pw", "errors hide the password")
}

func TestOptionsPrintWithoutSecrets(t *testing.T) {
	opts := Options{
		Addr:       "127.0.0.1:9",
		HipChatURL: "https://admin:hunter2@hipchat.example.com",
		PublicURL:  "https://connector.example.com/?auth_token=leaked-token",
		AdminToken: "operator-secret-value-123",
	}.withDefaults()
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "options", opts)
	for _, printed := range []string{opts.String(), fmt.Sprint(opts), fmt.Sprintf("%v", opts), logged.String()} {
		assert.NotContains(t, printed, "hunter2")
		assert.NotContains(t, printed, "leaked-token")
		assert.NotContains(t, printed, "operator-secret-value-123")
		assert.Contains(t, printed, "admin_token_set")
		assert.Contains(t, printed, "hipchat.example.com")
		assert.Contains(t, printed, "127.0.0.1:9")
	}
}
