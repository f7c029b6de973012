package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Describe reads the module version and the VCS stamp that go build records.
func TestDescribe(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/hipchat-connector/hipchat-connector", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "314c8c3d0b1a9e7f"},
			{Key: "vcs.time", Value: "2026-03-01T12:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}
	assert.Equal(t, "hipchat-connector v1.4.0, revision 314c8c3d0b1a9e7f of 2026-03-01T12:00:00Z, with uncommitted changes, go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH,
		Describe(stamped))
	stamped.Settings[3].Value = "false"
	assert.NotContains(t, Describe(stamped), "uncommitted")

	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	assert.Equal(t, "hipchat-connector (devel), revision unknown (built without VCS information), go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH,
		Describe(devel))
	assert.Contains(t, Describe(nil), "hipchat-connector (unknown), revision unknown")
}
