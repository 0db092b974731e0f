package bff_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

// TestWrongSPADirIsRefusedWithTheFix: a spa.dir that is missing, a file, or a folder
// without index.html (the project root instead of its build output) used to start a BFF
// that answered every page with a bare 404. New refuses it, naming the path and the fix.
func TestWrongSPADirIsRefusedWithTheFix(t *testing.T) {
	root := t.TempDir()
	built := filepath.Join(root, "dist")
	file := filepath.Join(root, "index.js")
	for _, f := range []string{filepath.Join(built, "index.html"), file} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("<!doctype html>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, dir, wantMsg string
	}{
		{name: "missing", dir: filepath.Join(root, "build"), wantMsg: "does not exist"},
		{name: "a file", dir: file, wantMsg: "is a file, not a directory"},
		{name: "no index.html (project root)", dir: root, wantMsg: "has no index.html"},
		{name: "built SPA", dir: built},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Server.PublicURL = "https://localhost:8443"
			cfg.OIDC.Issuer, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = "http://127.0.0.1:1", "bff", "a-client-secret-long-enough"
			cfg.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
			cfg.SPA.Dir = tt.dir
			srv, err := bff.New(context.Background(), cfg, bff.WithLogger(slog.New(slog.DiscardHandler)))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("New with a built SPA: %v", err)
				}
				_ = srv.Close()
				return
			}
			if err == nil {
				_ = srv.Close()
				t.Fatal("New accepted the spa.dir")
			}
			msg := err.Error()
			if !errors.Is(err, bff.ErrSPADir) || !strings.Contains(msg, tt.wantMsg) ||
				!strings.Contains(msg, tt.dir) || !strings.Contains(msg, "index.html") {
				t.Errorf("err = %q, want ErrSPADir naming %s, %q and index.html", msg, tt.dir, tt.wantMsg)
			}
		})
	}
}
