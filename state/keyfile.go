package state

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LoadOrCreateKeyFile returns the sealing key kept in the file at path,
// creating the file with a new random key when it does not exist.
//
// Format: text, the key as 64 hex characters and a newline (that is what it
// creates); base64 is accepted as well (see ParseKey). Raw binary is not, so
// a short hex key can never pass for a raw one. A created file has mode 0600 and is written atomically,
// so a crash never leaves a half-written key behind.
//
// Errors (all wrapping ErrInvalid except I/O failures): the file is readable
// by group or others (fix: chmod 600 <path>); the file does not hold a 32-byte
// key (fix: restore the right file; deleting it makes a new key, and a
// database sealed with the old one will no longer open).
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, KeyLength)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("state: generate key: %w", err)
	}
	created, err := createKeyFile(path, key)
	if err != nil {
		return nil, err
	}
	if !created { // another process created it first: use theirs
		return readKeyFile(path)
	}
	return key, nil
}

// ParseKey decodes a sealing key given as text, e.g. in an environment
// variable: 64 hex characters, or base64 (standard or URL alphabet, padded or
// not) of 32 bytes. Surrounding white space is ignored.
//
// Errors: ErrInvalid when the text is neither, or does not decode to 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("state: %w: key is empty; want %d hex characters or base64 of %d bytes", ErrInvalid, 2*KeyLength, KeyLength)
	}
	if isHex(s) {
		if len(s) != 2*KeyLength {
			return nil, fmt.Errorf("state: %w: key is %d hex characters, want %d (%d bytes)", ErrInvalid, len(s), 2*KeyLength, KeyLength)
		}
		return hex.DecodeString(s)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == KeyLength {
			return key, nil
		}
	}
	return nil, fmt.Errorf("state: %w: key must be %d hex characters or base64 of %d bytes", ErrInvalid, 2*KeyLength, KeyLength)
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

func readKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("state: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("state: %w: key file %s is not a regular file", ErrInvalid, path)
	}
	// Windows has no meaningful permission bits to check.
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("state: %w: key file %s has mode %04o and is readable by others; "+
			"restrict it to its owner with: chmod 600 %s", ErrInvalid, path, perm, path)
	}
	content, err := os.ReadFile(path) // #nosec G304 -- the operator's own -key-file path, checked for owner-only permissions above
	if err != nil {
		return nil, fmt.Errorf("state: key file: %w", err)
	}
	key, err := ParseKey(string(content))
	if err != nil {
		return nil, fmt.Errorf("state: key file %s: %w (restore the right file: "+
			"a new key cannot open data sealed with the old one)", path, err)
	}
	return key, nil
}

// createKeyFile writes key to a temporary file in the same directory and
// links it into place, so path either does not exist or holds a whole key.
// It reports false when path already existed.
func createKeyFile(path string, key []byte) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, fmt.Errorf("state: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	content := append([]byte(hex.EncodeToString(key)), '\n')
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close() // the first error is the one returned
		return false, fmt.Errorf("state: create key file: %w", err)
	}
	if _, err := tmp.Write(content); err != nil {
		_ = tmp.Close() // the first error is the one returned
		return false, fmt.Errorf("state: create key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close() // the first error is the one returned
		return false, fmt.Errorf("state: create key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("state: create key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("state: create key file: %w", err)
	}
	return true, nil
}

// KeySource is where the operator keeps the sealing key: the key itself (Inline, as the variable
// InlineName holds it), or a key file (File, or DBPath + ".key" when empty).
type KeySource struct {
	Inline, InlineName string
	File, DBPath       string
}

// Path is the key file Load reads, created on first use; "" when the key is inline.
func (k KeySource) Path() string {
	switch {
	case k.Inline != "":
		return ""
	case k.File != "":
		return k.File
	}
	return k.DBPath + ".key"
}

// Load returns the sealing key: Inline parsed (ParseKey) when it is set, else the key file's
// (LoadOrCreateKeyFile). Errors name the key's source, never the key.
func (k KeySource) Load() ([]byte, error) {
	if k.Inline != "" {
		key, err := ParseKey(k.Inline)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.InlineName, err)
		}
		return key, nil
	}
	key, err := LoadOrCreateKeyFile(k.Path())
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return key, nil
}
