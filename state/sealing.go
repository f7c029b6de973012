package state

// Sealer seals and opens values exactly as a Store does (AES-256-GCM, the
// same format and the same additional data per place), so another backend of
// the store interfaces (etcd) keeps tokens, signing secrets and the server key
// sealed under the operator's key without a second copy of the crypto.
type Sealer struct {
	s *sealer
}

// NewSealer returns a Sealer for a 32-byte key.
// Errors: ErrInvalid when key is not KeyLength bytes.
func NewSealer(key []byte) (*Sealer, error) {
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	return &Sealer{s: s}, nil
}

// Seal seals plaintext bound to aad (SealingServerKey; subscriptions' values are sealed by
// SealSubscription and SealSecret).
// Errors: only a failure of the random source.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) { return s.s.seal(plaintext, aad) }

// Open opens a value sealed for aad and returns a fresh slice.
// Errors: ErrWrongKey when it was sealed with another key, for another place,
// or was tampered with.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) { return s.s.open(sealed, aad) }

// SealingServerKey is the additional data of the sealed server key.
func SealingServerKey() []byte { return append([]byte(nil), aadServerKey...) }
