package state

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateKeyFileCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.key")
	key, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.Len(t, key, KeyLength)

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(key)+"\n", string(content))

	again, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.Equal(t, key, again, "the second start reads the same key")

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestLoadOrCreateKeyFileReadsFormats(t *testing.T) {
	key := testKey(9)
	tests := map[string][]byte{
		"hex":         []byte(hex.EncodeToString(key) + "\n"),
		"base64":      []byte(base64.StdEncoding.EncodeToString(key)),
		"base64url\n": []byte(base64.RawURLEncoding.EncodeToString(key) + "\n"),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.key")
			require.NoError(t, os.WriteFile(path, content, 0o600))
			got, err := LoadOrCreateKeyFile(path)
			require.NoError(t, err)
			assert.Equal(t, key, got)
		})
	}
}

func TestLoadOrCreateKeyFileRejects(t *testing.T) {
	tests := []struct {
		name    string
		content string
		perm    os.FileMode
		want    string
	}{
		{"world readable", hex.EncodeToString(testKey(1)), 0o644, "chmod 600"},
		{"group readable", hex.EncodeToString(testKey(1)), 0o640, "chmod 600"},
		{"short", hex.EncodeToString(testKey(1)[:16]), 0o600, "32 hex characters, want 64"},
		{"empty", "", 0o600, "key is empty"},
		{"raw binary", string(testKey(1)), 0o600, "64 hex characters"},
		{"garbage", strings.Repeat("z", 64), 0o600, "64 hex characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.key")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), tt.perm))
			require.NoError(t, os.Chmod(path, tt.perm)) // umask may have narrowed it

			_, err := LoadOrCreateKeyFile(path)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), path)
		})
	}
}

func TestParseKey(t *testing.T) {
	key := testKey(3)
	tests := []struct {
		name, in string
		wantErr  string
	}{
		{"hex", hex.EncodeToString(key), ""},
		{"hex with spaces", "  " + hex.EncodeToString(key) + "\n", ""},
		{"base64", base64.StdEncoding.EncodeToString(key), ""},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(key), ""},
		{"base64 of 16 bytes", base64.StdEncoding.EncodeToString(key[:16]), "base64 of 32 bytes"},
		{"hex too long", hex.EncodeToString(key) + "00", "66 hex characters, want 64"},
		{"empty", "", "key is empty"},
		{"passphrase", "correct horse battery staple", "64 hex characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalid)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, key, got)
		})
	}
}

// A KeySource takes the inline key when there is one, else the key file (by default beside the
// database), and names where a bad key came from without showing it.
func TestKeySource(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "connector.db")
	fromFile := KeySource{DBPath: db}
	assert.Equal(t, db+".key", fromFile.Path())
	key, err := fromFile.Load()
	require.NoError(t, err)
	assert.Len(t, key, KeyLength)
	again, err := fromFile.Load()
	require.NoError(t, err)
	assert.Equal(t, key, again, "the file made on first use is read after")

	inline := KeySource{Inline: strings.Repeat("ab", KeyLength), InlineName: "THE_KEY", DBPath: db}
	assert.Empty(t, inline.Path(), "no key file when the key is inline")
	key, err = inline.Load()
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte{0xab}, KeyLength), key)

	_, err = KeySource{Inline: "not-a-key-secret", InlineName: "THE_KEY"}.Load()
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "THE_KEY")
	assert.NotContains(t, err.Error(), "not-a-key-secret")
	assert.Equal(t, filepath.Join(dir, "own.key"), KeySource{File: filepath.Join(dir, "own.key"), DBPath: db}.Path())
}
