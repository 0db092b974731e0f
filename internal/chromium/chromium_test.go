package chromium

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFindsEveryChromiumName: a developer with Google Chrome or another distribution's
// chromium-browser runs the browser tests instead of skipping them; PATH order is
// chromium, chromium-browser, google-chrome, google-chrome-stable.
func TestFindsEveryChromiumName(t *testing.T) {
	tests := []struct {
		installed []string
		want      string
	}{
		{installed: []string{"chromium"}, want: "chromium"},
		{installed: []string{"chromium-browser"}, want: "chromium-browser"},
		{installed: []string{"google-chrome"}, want: "google-chrome"},
		{installed: []string{"google-chrome-stable"}, want: "google-chrome-stable"},
		{installed: []string{"google-chrome-stable", "chromium"}, want: "chromium"},
		{installed: nil, want: ""},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for _, name := range tt.installed {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv("PATH", dir)
		got := find(nil)
		if tt.want != "" {
			if got != filepath.Join(dir, tt.want) {
				t.Errorf("installed %v: found %q, want %s", tt.installed, got, tt.want)
			}
		} else if got != "" {
			t.Errorf("nothing installed: found %q", got)
		}
	}
}
