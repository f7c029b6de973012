package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"bytes"
	"encoding/hex"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

func TestFileNeverHoldsSecretsInClear(t *testing.T) {
	d := newTestDB(t)
	const token = "tok-7f3a9c-CLEAR-TEXT-TOKEN"
	const secret = "whsec_CLEAR-TEXT-SIGNING-SECRET"
	_, err := d.CreateSubscription(state.Subscription{
		ConnectionID: "conn-a", Kind: triggers.KindRoom, CallbackURL: "https://sink.example/hook",
		Token: token, Secret: secret, HipChatURL: "https://api.hipchat.com",
	})
	require.NoError(t, err)
	serverKey := d.ServerKey()
	require.NoError(t, d.Close())

	raw, err := os.ReadFile(d.path)
	require.NoError(t, err)
	for name, clear := range map[string][]byte{
		"token": []byte(token), "secret": []byte(secret),
		"server key": serverKey, "server key (hex)": []byte(hex.EncodeToString(serverKey)),
		"encryption key": d.opts.Key,
	} {
		assert.False(t, bytes.Contains(raw, clear), "the file holds the %s in clear", name)
	}

	d.Store = d.open()
	subs, err := d.PolledSubscriptions()
	require.NoError(t, err)
	require.Len(t, subs, 1)
	assert.Equal(t, token, subs[0].Token)
	assert.Equal(t, secret, subs[0].Secret)
}

func TestReadingATamperedSecretFailsClearly(t *testing.T) {
	d := newTestDB(t)
	d.subscribe("s1")
	other := d.subscribe("s2")
	// Copy s2's sealed token into s1's record: it must not open there.
	require.NoError(t, d.db.Update(func(tx *bbolt.Tx) error {
		s1, err := getSubscription(tx, "s1")
		require.NoError(t, err)
		s2, err := getSubscription(tx, other.ID)
		require.NoError(t, err)
		s1.SealedToken = s2.SealedToken
		return putSubscription(tx.Bucket(bucketSubscriptions), s1)
	}))

	_, err := d.Subscription("s1")
	require.ErrorIs(t, err, state.ErrWrongKey)
	assert.Contains(t, err.Error(), `subscription "s1" token`)
}
