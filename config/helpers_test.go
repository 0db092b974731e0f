package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two valid session keys (standard base64 of 32 bytes), for tests only.
const (
	testKey1 = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
	testKey2 = "ESIzRFVmd4iZqrvM3e7/ABEiM0RVZneImaq7zN3u/wA="
)

// validConfig is Defaults plus every required key: it passes Validate.
func validConfig() Config {
	c := Defaults()
	c.Server.PublicURL = "https://app.example.com"
	c.OIDC.Issuer = "https://idp.example.com"
	c.OIDC.ClientID = "spa"
	c.OIDC.ClientSecret = "s3cr3t-client-value"
	c.Session.Keys = []string{testKey1, testKey2}
	c.Routes = []Route{
		Route{Path: "/api/", Upstream: "http://127.0.0.1:9000", StripPrefix: "/api"}.WithDefaults(),
	}
	return c
}

// writeFile writes content to a new file in a test's temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// problemsOf returns the problems of a *ValidationError, failing the test for any other
// non-nil error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is not a *ValidationError: %v", err)
	}
	return ve.Problems
}

// findProblem returns the first problem at path whose message contains substr.
func findProblem(ps []Problem, path, substr string) (Problem, bool) {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, substr) {
			return p, true
		}
	}
	return Problem{}, false
}
