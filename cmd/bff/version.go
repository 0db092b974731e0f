package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit are stamped by a release build that has no .git to read, e.g. the
// Dockerfile's build args:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=3f2a9c1d0b7e" ./cmd/bff
//
// Empty (the default), the module version and VCS revision come from the build info.
var version, commit string

// runVersion prints the module version, the commit, and the Go version and platform.
func (a *app) runVersion(_ context.Context, args []string) error {
	fs := a.bareFlagSet("version", "print the version")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(a.stdout, versionLine(stamp{version: version, commit: commit}, info, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH))
	return nil
}

// stamp is what -ldflags -X set; each non-empty field overrides the build info.
type stamp struct{ version, commit string }

// versionLine formats, e.g.,
//
//	bff v1.2.0 (commit 3f2a9c1d0b7e, 2026-01-02T03:04:05Z, modified) go1.26.8 linux/amd64
//	bff (devel) (commit unknown: built without VCS information) go1.26.8 linux/amd64
//
// info may be nil (a binary built without module support). The commit is unknown when
// neither -ldflags nor the build info carry one: built with -buildvcs=false, outside a
// checkout, or from a module zip (go install …@v1.2.0, whose version says it all).
func versionLine(s stamp, info *debug.BuildInfo, goVersion, platform string) string {
	v := s.version
	if v == "" && info != nil {
		v = info.Main.Version
	}
	if v == "" {
		v = "(unknown)"
	}
	details := []string{"commit unknown: built without VCS information"}
	if s.commit != "" {
		details = []string{"commit " + shortRev(s.commit)}
	} else if info != nil {
		if vcs := vcsDetails(info.Settings); len(vcs) > 0 {
			details = vcs
		}
	}
	return "bff " + v + " (" + strings.Join(details, ", ") + ") " + goVersion + " " + platform
}

// vcsDetails returns "commit REV", its time and "modified" from the build info's VCS
// settings, or nil when the build recorded no revision.
func vcsDetails(settings []debug.BuildSetting) []string {
	var rev, at string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return nil
	}
	out := []string{"commit " + shortRev(rev)}
	if at != "" {
		out = append(out, at)
	}
	if modified {
		out = append(out, "modified")
	}
	return out
}

// shortRev shortens a full hash to 12 characters, as git's abbreviations go.
func shortRev(rev string) string { return rev[:min(len(rev), 12)] }
