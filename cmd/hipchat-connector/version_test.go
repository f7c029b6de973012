package main

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `version` and `-version` print the same one line: this binary's build (the test binary has no
// VCS stamp, so it says so).
func TestVersionSubcommandAndFlag(t *testing.T) {
	var lines []string
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		stdout := &lockedBuffer{}
		require.NoError(t, run(context.Background(), args, noEnv, stdout, &lockedBuffer{}), args)
		lines = append(lines, stdout.String())
	}
	assert.Equal(t, lines[0], lines[1])
	assert.Equal(t, lines[0], lines[2])
	assert.True(t, strings.HasPrefix(lines[0], "hipchat-connector "), lines[0])
	assert.Contains(t, lines[0], runtime.Version())
	assert.True(t, strings.HasSuffix(lines[0], runtime.GOOS+"/"+runtime.GOARCH+"\n"), lines[0])

	stderr := &lockedBuffer{}
	assert.ErrorIs(t, run(context.Background(), []string{"version", "extra"}, noEnv, &lockedBuffer{}, stderr), errUsage)
	assert.Contains(t, stderr.String(), "usage: hipchat-connector version")
}
