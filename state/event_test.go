package state

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDeliveryIDBytesReadsOnlyWhatDeliveryIDMakes(t *testing.T) {
	id := DeliveryID("sub", "event")
	sum, ok := DeliveryIDBytes(id)
	assert.True(t, ok)
	assert.Equal(t, id, deliveryIDPrefix+deliveryIDEncoding.EncodeToString(sum[:]))
	for _, other := range []string{"", "msg_", "msg_x", id[4:], "evt_" + id[4:], id + "a", id[:len(id)-1] + "b", "MSG_" + id[4:]} {
		_, ok := DeliveryIDBytes(other)
		assert.False(t, ok, "%q", other)
	}
}
