package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// runVersion prints the module version, the VCS revision when the binary was built
// from a checkout, and the Go version and platform.
func (a *app) runVersion(_ context.Context, args []string) error {
	fs := a.bareFlagSet("version", "print the version")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(a.stdout, versionLine(info, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH))
	return nil
}

// versionLine formats, e.g., "bff v1.2.0 (rev 3f2a9c1d0b7e, 2026-01-02T03:04:05Z, modified) go1.26.8 linux/amd64".
// info may be nil (a binary built without module support).
func versionLine(info *debug.BuildInfo, goVersion, platform string) string {
	version := "(unknown)"
	var vcs []string
	if info != nil {
		version = info.Main.Version
		vcs = vcsDetails(info.Settings)
	}
	line := "bff " + version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + goVersion + " " + platform
}

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
	var out []string
	if rev != "" {
		out = append(out, "rev "+rev[:min(len(rev), 12)])
	}
	if at != "" {
		out = append(out, at)
	}
	if modified {
		out = append(out, "modified")
	}
	return out
}
