package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The connections whose tokens HipChat accepted are kept, each once, in order, whatever the batches.
func testKnownConnections(t *testing.T, d *env) {
	ids, err := d.KnownConnections()
	require.NoError(t, err)
	assert.Empty(t, ids)
	require.NoError(t, d.RememberConnections(nil))
	require.NoError(t, d.RememberConnections([]string{"conn_b", "conn_a"}))
	require.NoError(t, d.RememberConnections([]string{"conn_a", "conn/with slash"}))
	ids, err = d.KnownConnections()
	require.NoError(t, err)
	assert.Equal(t, []string{"conn/with slash", "conn_a", "conn_b"}, ids)
}
