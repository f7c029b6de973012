package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// clock is a settable clock for Options.Now.
type clock = manualclock.Clock

func newClock() *clock { return manualclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// testDB is a store on a real file in t.TempDir(). Its cleanup reopens the
// file and runs Check, whatever the test did to the store in between.
type testDB struct {
	t     testing.TB
	path  string
	opts  Options
	clock *clock
	*Store
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, state.KeyLength) }

// openFixture is a test database opened on a copy of the file at path (a file an earlier schema
// version wrote, kept in testdata/): the open migrates it.
func openFixture(t testing.TB, path string) *testDB {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	d := newTestDB(t)
	require.NoError(t, d.Close())
	require.NoError(t, os.WriteFile(d.path, raw, 0o600))
	d.Store = d.open()
	return d
}

func newTestDB(t testing.TB) *testDB {
	t.Helper()
	d := &testDB{t: t, path: filepath.Join(t.TempDir(), "state.db"), clock: newClock()}
	d.opts = Options{Key: testKey(7), Now: d.clock.Now, Timeout: time.Second}
	d.Store = d.open()
	t.Cleanup(func() {
		_ = d.Store.Close()
		s, err := Open(d.path, d.opts)
		if err != nil {
			t.Errorf("cleanup: reopen %s: %v", d.path, err)
			return
		}
		defer s.Close()
		if err := s.Check(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := s.db.View(checkHeads); err != nil {
			t.Errorf("cleanup: heads/ against due/: %v", err)
		}
	})
	return d
}

func (d *testDB) open() *Store {
	d.t.Helper()
	s, err := Open(d.path, d.opts)
	require.NoError(d.t, err)
	return s
}

// reopen closes and opens the file again, as a restart (or a crash: bbolt
// commits are atomic, so a closed file is what a crash between two
// transactions leaves behind).
func (d *testDB) reopen() {
	d.t.Helper()
	require.NoError(d.t, d.Store.Close())
	d.Store = d.open()
}

// subscribe creates an active message subscription for room "r1".
// subscribe creates a FIFO subscription: one delivery at a time, in order
// (the tests of queue order use it); subscribeWith takes the ordering.
func (d *testDB) subscribe(id string) state.Subscription {
	d.t.Helper()
	return d.subscribeWith(id, state.OrderingFIFO)
}

func (d *testDB) subscribeWith(id string, ordering state.Ordering) state.Subscription {
	d.t.Helper()
	sub, err := d.CreateSubscription(state.Subscription{
		ID: id, ConnectionID: "conn-a", Kind: triggers.KindMessage, RoomID: "r1",
		CallbackURL: "https://sink.example/hook", Token: "token-of-" + id,
		Secret: "whsec_secret-of-" + id, HipChatURL: "https://api.hipchat.com", Ordering: ordering,
	})
	require.NoError(d.t, err)
	return sub
}

// events returns events with ids prefix1..prefixN.
func events(prefix string, n int) []state.Event {
	evs := make([]state.Event, n)
	for i := range evs {
		id := fmt.Sprintf("%s%d", prefix, i+1)
		evs[i] = state.Event{ID: id, Type: "message.created", Payload: []byte(`{"id":"` + id + `"}`)}
	}
	return evs
}

func TestOpenStampsFreshFileWithSchemaVersion(t *testing.T) {
	d := newTestDB(t)
	require.NoError(t, d.Close())

	db, err := bbolt.Open(d.path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, u64Key(SchemaVersion), tx.Bucket(bucketMeta).Get(keySchemaVersion))
		for _, name := range topLevelBuckets {
			assert.NotNil(t, tx.Bucket(name), "bucket %s", name)
		}
		return nil
	}))
}

func TestOpenRefusesUnsupportedSchema(t *testing.T) {
	tests := []struct {
		name    string
		version []byte
		want    []string
	}{
		{"newer", u64Key(SchemaVersion + 1), []string{fmt.Sprint("schema version ", SchemaVersion+1), fmt.Sprint("supports up to ", SchemaVersion)}},
		{"zero", u64Key(0), []string{"schema version 0"}},
		{"malformed", []byte{1}, []string{"malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDB(t)
			d.subscribe("s1")
			require.NoError(t, d.Close())
			setSchemaVersion(t, d.path, tt.version)

			_, err := Open(d.path, d.opts)
			require.ErrorIs(t, err, state.ErrSchemaVersion)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), want)
			}

			setSchemaVersion(t, d.path, u64Key(SchemaVersion)) // let cleanup check the file
		})
	}
}

func setSchemaVersion(t *testing.T, path string, version []byte) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, version)
	}))
}

func TestServerKeyIsRandomAndSurvivesRestart(t *testing.T) {
	d := newTestDB(t)
	key := d.ServerKey()
	require.Len(t, key, 32)
	assert.NotEqual(t, make([]byte, 32), key)

	key[0] ^= 0xff // the caller owns its copy
	assert.NotEqual(t, key, d.ServerKey())
	key[0] ^= 0xff

	d.reopen()
	assert.Equal(t, key, d.ServerKey())

	other := newTestDB(t)
	assert.NotEqual(t, key, other.ServerKey(), "each file gets its own server key")
}

func TestOpenKeyErrors(t *testing.T) {
	d := newTestDB(t)
	require.NoError(t, d.Close())

	t.Run("wrong key", func(t *testing.T) {
		opts := d.opts
		opts.Key = testKey(8)
		_, err := Open(d.path, opts)
		require.ErrorIs(t, err, state.ErrWrongKey)
		assert.Contains(t, err.Error(), "wrong encryption key")
	})
	t.Run("short key", func(t *testing.T) {
		opts := d.opts
		opts.Key = testKey(7)[:16]
		_, err := Open(d.path, opts)
		require.ErrorIs(t, err, state.ErrInvalid)
		assert.Contains(t, err.Error(), "16 bytes, want 32")
	})
}

func TestOpenTimesOutWhileAnotherStoreHoldsTheFile(t *testing.T) {
	d := newTestDB(t)
	opts := d.opts
	opts.Timeout = 50 * time.Millisecond
	_, err := Open(d.path, opts)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "timeout"), err.Error())
}
