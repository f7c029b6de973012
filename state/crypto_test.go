package state

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeyLength) }

func TestSealedValueOpensOnlyInItsPlace(t *testing.T) {
	sl, err := NewSealer(testKey(1))
	require.NoError(t, err)
	sealed, err := sl.Seal([]byte("token"), aadToken("s1"))
	require.NoError(t, err)
	again, err := sl.Seal([]byte("token"), aadToken("s1"))
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a random nonce makes equal tokens look different")

	plain, err := sl.Open(sealed, aadToken("s1"))
	require.NoError(t, err)
	assert.Equal(t, "token", string(plain))

	tests := map[string]func() ([]byte, error){
		"other subscription": func() ([]byte, error) { return sl.Open(sealed, aadToken("s2")) },
		"other field":        func() ([]byte, error) { return sl.Open(sealed, aadSecret("s1")) },
		"truncated":          func() ([]byte, error) { return sl.Open(sealed[:10], aadToken("s1")) },
		"other key": func() ([]byte, error) {
			other, err := NewSealer(testKey(2))
			require.NoError(t, err)
			return other.Open(sealed, aadToken("s1"))
		},
	}
	for name, open := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := open()
			require.ErrorIs(t, err, ErrWrongKey)
		})
	}
}
