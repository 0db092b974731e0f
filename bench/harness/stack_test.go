package main

import (
	"os"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
)

// TestBFFConfigIsValidAndPrivate: the config the harness writes is one the real loader
// accepts as it is, with the settings asked for, in a file only its owner can read (it
// holds the client secret and the session key).
func TestBFFConfigIsValidAndPrivate(t *testing.T) {
	tests := []struct {
		name     string
		cacheTTL string
		wantTTL  time.Duration
	}{
		{name: "the BFF's default cache", cacheTTL: "", wantTTL: config.Defaults().Session.CacheTTL},
		{name: "cache off", cacheTTL: "0s", wantTTL: 0},
		{name: "cache 2s", cacheTTL: "2s", wantTTL: 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file, err := writeBFFConfig(t.TempDir(), "bff", bffSetup{
				listen: "127.0.0.1:18080", admin: "127.0.0.1:19090", issuer: "http://127.0.0.1:18081",
				secret: "s3cret-s3cret-s3cret", redisURL: "redis://127.0.0.1:6379/14",
				upstream: "http://127.0.0.1:18082", logLevel: "warn", cacheTTL: tc.cacheTTL,
			})
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("config file mode %v, want 0600", st.Mode().Perm())
			}
			cfg, err := config.Load(config.Source{File: file})
			if err != nil {
				t.Fatal(err)
			}
			if err := config.Validate(cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Session.Store != "redis" || cfg.Session.CacheTTL != tc.wantTTL || cfg.Log.Level != "warn" ||
				len(cfg.Routes) != 1 || cfg.Routes[0].StripPrefix != "/api" || len(cfg.Session.Keys) != 1 {
				t.Fatalf("loaded %+v", cfg.Session)
			}
		})
	}
}

func TestWithPoolSize(t *testing.T) {
	tests := []struct {
		name string
		url  string
		n    int
		want string
	}{
		{name: "unchanged without a size", url: "redis://127.0.0.1:6379/14", n: 0, want: "redis://127.0.0.1:6379/14"},
		{name: "pool_size added", url: "redis://127.0.0.1:6379/14", n: 64, want: "redis://127.0.0.1:6379/14?pool_size=64"},
	}
	for _, tc := range tests {
		if got := withPoolSize(tc.url, tc.n); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
