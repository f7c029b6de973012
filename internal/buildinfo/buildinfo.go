// Package buildinfo says which build a binary is, in one line, from the build information Go
// records in it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Describe is one line that says which build this is: the module version ((devel) for a build from
// a work tree without a version), the VCS revision with its commit time and whether the tree had
// uncommitted changes (when the build recorded them: go build in a git checkout does, go run and go
// test do not), and the Go version and platform. info may be nil (no build information).
func Describe(info *debug.BuildInfo) string {
	version, goVersion := "(unknown)", runtime.Version()
	settings := map[string]string{}
	if info != nil {
		version, goVersion = info.Main.Version, info.GoVersion
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	if version == "" {
		version = "(devel)"
	}
	revision := "revision unknown (built without VCS information)"
	if r := settings["vcs.revision"]; r != "" {
		revision = "revision " + r
		if at := settings["vcs.time"]; at != "" {
			revision += " of " + at
		}
		if settings["vcs.modified"] == "true" {
			revision += ", with uncommitted changes"
		}
	}
	return fmt.Sprintf("hipchat-connector %s, %s, %s %s/%s", version, revision, goVersion, runtime.GOOS, runtime.GOARCH)
}

// Running is Describe of the running binary.
func Running() string {
	info, _ := debug.ReadBuildInfo()
	return Describe(info)
}
