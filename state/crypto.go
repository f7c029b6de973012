package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// KeyLength is the length of the sealing key: AES-256.
const KeyLength = 32

// sealFormatV1 prefixes every sealed value so the format can change later.
const sealFormatV1 byte = 1

// Additional authenticated data binds each sealed value to its place, so a
// sealed token cannot be copied into another record or field and opened there.
var aadServerKey = []byte("state/v1/meta/server_key")

func aadToken(subscriptionID string) []byte {
	return []byte("state/v1/subscription/" + subscriptionID + "/token")
}

func aadSecret(subscriptionID string) []byte {
	return []byte("state/v1/subscription/" + subscriptionID + "/secret")
}

func aadPreviousSecret(subscriptionID string) []byte {
	return []byte("state/v3/subscription/" + subscriptionID + "/previous-secret")
}

// Sealer seals the secrets every backend stores (tokens, signing secrets, the server key) with
// AES-256-GCM under the operator's key and a random 96-bit nonce: format byte ‖ nonce ‖
// ciphertext+tag, bound by additional data to its place (a token sealed for one subscription does
// not open as another's, or as its secret).
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
// Errors: ErrInvalid when key is not KeyLength bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeyLength {
		return nil, fmt.Errorf("%w: encryption key is %d bytes, want %d", ErrInvalid, len(key), KeyLength)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal seals plaintext bound to aad (SealingServerKey; subscriptions' values are sealed by
// SealSubscription and SealSecret).
// Errors: only a failure of the random source.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = sealFormatV1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("state: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, aad), nil // #nosec G407 -- out[1:] is the nonce, NonceSize bytes just read from crypto/rand, fresh per seal
}

// Open opens a value sealed for aad and returns a fresh slice (sealed may point into a bbolt page).
// Errors: ErrWrongKey when it was sealed with another key, for another place, or was tampered
// with.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealFormatV1 {
		return nil, fmt.Errorf("%w: malformed sealed value", ErrWrongKey)
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// SealingServerKey is the additional data of the sealed server key.
func SealingServerKey() []byte { return append([]byte(nil), aadServerKey...) }
