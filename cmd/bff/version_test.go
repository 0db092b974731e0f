package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	checkout := &debug.BuildInfo{
		Main: debug.Module{Version: "v0.0.0-20260102030405-3f2a9c1d0b7e+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3f2a9c1d0b7e55aa11bb22cc33dd44ee55ff6677"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	noVCS := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
	tests := []struct {
		name  string
		stamp stamp
		info  *debug.BuildInfo
		want  string
	}{
		{name: "no build info", info: nil, want: "bff (unknown) (commit unknown: built without VCS information) go1.26.8 linux/amd64"},
		{
			name: "go install of a tag: the module version, no VCS",
			info: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}},
			want: "bff v1.2.0 (commit unknown: built without VCS information) go1.26.8 linux/amd64",
		},
		{
			name: "checkout build",
			info: checkout,
			want: "bff v0.0.0-20260102030405-3f2a9c1d0b7e+dirty (commit 3f2a9c1d0b7e, 2026-01-02T03:04:05Z, modified) go1.26.8 linux/amd64",
		},
		{
			name: "-buildvcs=false",
			info: noVCS,
			want: "bff (devel) (commit unknown: built without VCS information) go1.26.8 linux/amd64",
		},
		{
			name:  "ldflags stamp both (the Dockerfile)",
			stamp: stamp{version: "v1.2.0", commit: "3f2a9c1d0b7e55aa11bb22cc33dd44ee55ff6677"},
			info:  noVCS,
			want:  "bff v1.2.0 (commit 3f2a9c1d0b7e) go1.26.8 linux/amd64",
		},
		{
			name:  "ldflags commit wins over the build info's",
			stamp: stamp{commit: "abcdef"},
			info:  checkout,
			want:  "bff v0.0.0-20260102030405-3f2a9c1d0b7e+dirty (commit abcdef) go1.26.8 linux/amd64",
		},
		{
			name:  "ldflags version only",
			stamp: stamp{version: "v1.2.0"},
			info:  checkout,
			want:  "bff v1.2.0 (commit 3f2a9c1d0b7e, 2026-01-02T03:04:05Z, modified) go1.26.8 linux/amd64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.stamp, tt.info, "go1.26.8", "linux/amd64"); got != tt.want {
				t.Errorf("versionLine() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	a := newTestApp(nil)
	if code := a.run(context.Background(), []string{"version"}); code != exitOK {
		t.Fatalf("exit code = %d", code)
	}
	out := a.stdout.String()
	if !strings.HasPrefix(out, "bff ") || !strings.Contains(out, "(commit ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version output = %q, want the module version, the commit and the Go version", out)
	}
}

// raceBuildFlags is set by race_test.go under -race.
var raceBuildFlags []string

// TestVersionOfABuiltBinary builds bff without VCS information (as in a Docker build,
// which has no .git) and runs `bff version`: the -X names the Dockerfile and
// docs/release.md use must be the variables the command reads. (-trimpath and
// CGO_ENABLED=0 are left out: they would compile every dependency once more.)
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice; skipped with -short")
	}
	tests := []struct {
		name    string
		ldflags string
		want    string
	}{
		{
			name:    "stamped",
			ldflags: "-s -w -X main.version=v9.8.7 -X main.commit=0123456789abcdef0123",
			want:    "bff v9.8.7 (commit 0123456789ab) " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
		},
		{
			name:    "unstamped, no VCS information",
			ldflags: "-s -w",
			want:    "bff (devel) (commit unknown: built without VCS information) " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "bff")
			args := append([]string{"build", "-buildvcs=false", "-ldflags", tt.ldflags, "-o", bin}, raceBuildFlags...)
			build := exec.Command("go", append(args, ".")...)
			build.Env = append(os.Environ(), "GOFLAGS=")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin, "version").Output()
			if err != nil {
				t.Fatalf("bff version: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("bff version =\n  %q\nwant\n  %q", out, tt.want)
			}
		})
	}
}
