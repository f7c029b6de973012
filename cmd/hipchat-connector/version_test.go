package main

import (
	"context"
	"runtime"
	"runtime/debug"
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

// describeBuild reads the module version and the VCS stamp that go build records.
func TestDescribeBuild(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/hipchat-connector/hipchat-connector", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "314c8c3d0b1a9e7f"},
			{Key: "vcs.time", Value: "2026-03-01T12:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}
	assert.Equal(t, "hipchat-connector v1.4.0, revision 314c8c3d0b1a9e7f of 2026-03-01T12:00:00Z, with uncommitted changes, go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH,
		describeBuild(stamped))
	stamped.Settings[3].Value = "false"
	assert.NotContains(t, describeBuild(stamped), "uncommitted")

	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	assert.Equal(t, "hipchat-connector (devel), revision unknown (built without VCS information), go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH,
		describeBuild(devel))
	assert.Contains(t, describeBuild(nil), "hipchat-connector (unknown), revision unknown")
}
