package bolt_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/state/storetest"
)

// bboltStore is a bbolt store on a file in t.TempDir(), with its raw bytes.
type bboltStore struct {
	*bolt.Store
	path string
}

// Raw returns the file's bytes, every committed page.
func (s bboltStore) Raw(t *testing.T) []byte {
	raw, err := os.ReadFile(s.path)
	require.NoError(t, err)
	return raw
}

func TestBbolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		path := filepath.Join(t.TempDir(), "state.db")
		s, err := bolt.Open(path, bolt.Options{Key: bytes.Repeat([]byte{7}, state.KeyLength), Now: now,
			Timeout: time.Second, Retention: storetest.Retention})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return bboltStore{Store: s, path: path}
	})
}
