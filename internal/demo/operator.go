package demo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// operatorCredential is the demo connector's operator credential (serve -admin-token-file), so that
// the operator half of the console and the /admin/ routes can be tried: random for each run, in a
// file of its own (mode 0600, as serve requires) that the demo removes at the end, and printed,
// like the emulator's admin token: a local demo's secrets are there to be used.
type operatorCredential struct {
	token string
	file  string
	dir   string
}

// newOperatorCredential makes a credential and its file in a new temporary directory. Errors: the
// random source's and the file system's.
func newOperatorCredential() (operatorCredential, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return operatorCredential{}, fmt.Errorf("operator credential: %w", err)
	}
	dir, err := os.MkdirTemp("", "hipchat-connector-demo-operator-")
	if err != nil {
		return operatorCredential{}, fmt.Errorf("operator credential: %w", err)
	}
	c := operatorCredential{token: "demo-operator-" + hex.EncodeToString(raw), file: filepath.Join(dir, "operator-credential"), dir: dir}
	if err := os.WriteFile(c.file, []byte(c.token+"\n"), 0o600); err != nil {
		c.remove()
		return operatorCredential{}, fmt.Errorf("operator credential: %w", err)
	}
	return c, nil
}

// remove deletes the credential's file and directory.
func (c operatorCredential) remove() { _ = os.RemoveAll(c.dir) }
