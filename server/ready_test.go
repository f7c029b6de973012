package server

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadyAsksDepsReady: while serving, Deps.Ready decides (no etcd session: not ready); without
// it, serving is ready.
func TestReadyAsksDepsReady(t *testing.T) {
	var why error = errors.New("no etcd session")
	deps := testDeps()
	deps.Ready = func() error { return why }
	srv, err := New(Options{Addr: "127.0.0.1:0"}, deps)
	require.NoError(t, err)
	assert.ErrorContains(t, srv.ready(), "not serving")
	srv.serving.Store(true)
	assert.ErrorContains(t, srv.ready(), "no etcd session")
	why = nil
	assert.NoError(t, srv.ready())

	plain, err := New(Options{Addr: "127.0.0.1:0"}, testDeps())
	require.NoError(t, err)
	plain.serving.Store(true)
	assert.NoError(t, plain.ready())
}
