package bolt

import (
	"github.com/hipchat-connector/hipchat-connector/state"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"
)

// TestEachSubscriptionReadsOnlyItsOwnLog keeps the records of ids that begin alike apart.
func TestEachSubscriptionReadsOnlyItsOwnLog(t *testing.T) {
	d := newTestDB(t)
	for _, id := range []string{"s1", "s10", "s", "s2"} {
		d.subscribeWith(id, state.OrderingBestEffort)
		require.NoError(t, d.CommitFeed([]state.CursorAdvance{{SubscriptionID: id, Events: events(id+"-e", 3)}}))
	}
	for _, id := range []string{"s1", "s10", "s", "s2"} {
		log, err := d.Deliveries(id, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{id + "-e3", id + "-e2", id + "-e1"}, eventIDs(log), id)
		newest, err := d.Deliveries(id, 1)
		require.NoError(t, err)
		assert.Equal(t, []string{id + "-e3"}, eventIDs(newest), id)
	}
	require.NoError(t, d.DeleteSubscription("s1"))
	log, err := d.Deliveries("s10", 0)
	require.NoError(t, err)
	assert.Len(t, log, 3, "deleting s1 leaves s10's records")
	require.NoError(t, d.db.View(func(tx *bbolt.Tx) error {
		assert.Equal(t, 9, tx.Bucket(bucketLog).Stats().KeyN)
		return nil
	}))
}

func TestDecodeDeliveryNamesTheDelivery(t *testing.T) {
	_, err := decodeDelivery("s1", 1, []byte(`{"id":"msg_x"}`))
	assert.ErrorContains(t, err, "decode delivery s1/1: unknown record format", "a version-3 record is the migration's to read")
}
