package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{name: "no build info", info: nil, want: "bff (unknown) go1.26.8 linux/amd64"},
		{
			name: "release",
			info: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}},
			want: "bff v1.2.0 go1.26.8 linux/amd64",
		},
		{
			name: "checkout build",
			info: &debug.BuildInfo{
				Main: debug.Module{Version: "(devel)"},
				Settings: []debug.BuildSetting{
					{Key: "vcs.revision", Value: "3f2a9c1d0b7e55aa11bb22cc33dd44ee55ff6677"},
					{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
					{Key: "vcs.modified", Value: "true"},
				},
			},
			want: "bff (devel) (rev 3f2a9c1d0b7e, 2026-01-02T03:04:05Z, modified) go1.26.8 linux/amd64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.info, "go1.26.8", "linux/amd64"); got != tt.want {
				t.Errorf("versionLine() = %q, want %q", got, tt.want)
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
	if !strings.HasPrefix(out, "bff ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version output = %q, want the module and Go versions", out)
	}
}
