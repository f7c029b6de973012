package bolt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A new file starts clean; a graceful stop's state comes back once, clean; a start that was not
// followed by a save (a crash) reads as one at the next start; so does a file that never kept one.
func TestRestartStateTellsAGracefulStopFromACrash(t *testing.T) {
	d := newTestDB(t)
	state, clean, err := d.LoadRestartState()
	require.NoError(t, err)
	assert.True(t, clean, "a new file: no process ran before")
	assert.Empty(t, state)

	require.NoError(t, d.SaveRestartState([]byte(`{"saved":1}`)))
	d.reopen()
	state, clean, err = d.LoadRestartState()
	require.NoError(t, err)
	assert.True(t, clean)
	assert.JSONEq(t, `{"saved":1}`, string(state))

	d.reopen() // no save: the process that loaded it crashed
	state, clean, err = d.LoadRestartState()
	require.NoError(t, err)
	assert.False(t, clean, "nothing was saved since the last start")
	assert.Nil(t, state)

	old := openFixture(t, fixtureV1)
	_, clean, err = old.LoadRestartState()
	require.NoError(t, err)
	assert.False(t, clean, "a file from before restart states were kept: its last stop is unknown")
}
