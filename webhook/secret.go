package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// secretBytes is the size of a signing secret: Standard Webhooks asks for 24 to 64 random bytes.
const secretBytes = 24

// NewSecret returns a new signing secret in the Standard Webhooks form: "whsec_" and the base64 of
// 24 random bytes. Errors: only a failing system random source.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: new signing secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}
