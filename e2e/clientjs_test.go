package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestBFFServesTheSPAClientAndItsCSRFHeader: through the whole stack, /bff/client.js is
// the client as a script (not the /bff/* 404, not the SPA's index.html, not no-store),
// and /bff/client-config names the configured CSRF header, which /bff/user then accepts:
// the client and the BFF cannot disagree about it.
func TestBFFServesTheSPAClientAndItsCSRFHeader(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.CSRF.HeaderName = "X-Requested-By"
	}})
	resp, err := env.Client.Get(env.URL("/bff/client.js"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(string(body), "createBffClient") {
		t.Fatalf("GET /bff/client.js = %d %q (%d bytes), want 200 text/javascript with the client", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" || resp.Header.Get("ETag") == "" {
		t.Errorf("GET /bff/client.js: Cache-Control %q, ETag %q; want no-cache and an ETag", cc, resp.Header.Get("ETag"))
	}

	resp, err = env.Client.Get(env.URL("/bff/client-config"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		CSRFHeader string `json:"csrfHeader"`
	}
	err = json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || cfg.CSRFHeader != "X-Requested-By" {
		t.Fatalf("GET /bff/client-config = %d %+v (%v), want 200 with csrfHeader X-Requested-By", resp.StatusCode, cfg, err)
	}

	req, _ := http.NewRequest(http.MethodGet, env.URL("/bff/user"), nil)
	req.Header.Set(cfg.CSRFHeader, "1")
	resp, err = env.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized { // no session yet, but past the CSRF rule (403)
		t.Fatalf("GET /bff/user with the advertised header = %d, want 401 (no session), not the CSRF 403", resp.StatusCode)
	}
}
