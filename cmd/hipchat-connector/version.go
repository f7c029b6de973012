package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionSummary = "print the build's module version, VCS revision and Go version (also: hipchat-connector -version)"

// runVersion prints describeBuild of the running binary's build information. It takes no flags:
// errUsage for any argument.
func runVersion(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "usage: hipchat-connector version\n\n%s.\n", versionSummary)
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			return errHelp
		}
		return errUsage
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, describeBuild(info))
	return nil
}

// describeBuild is one line that says which build this is: the module version ((devel) for a build
// from a work tree without a version), the VCS revision with its commit time and whether the tree
// had uncommitted changes (when the build recorded them: go build in a git checkout does, go run
// and go test do not), and the Go version and platform. info may be nil (no build information).
func describeBuild(info *debug.BuildInfo) string {
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
