package e2e

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
)

// TestWrongIssuerSaysMisconfiguredEverywhere: an oidc.issuer that does not match the
// provider (a trailing slash the IdP does not use) or has no discovery document (a
// missing realm path) is a setting to fix, not an outage to wait out. /readyz says
// "misconfigured" with the reason, the log has an error naming oidc.issuer, and a login
// gets the "Sign-in is misconfigured" page instead of "try again in a moment".
func TestWrongIssuerSaysMisconfiguredEverywhere(t *testing.T) {
	for name, suffix := range map[string]string{"issuer mismatch": "/", "404 discovery document": "/realms/missing"} {
		t.Run(name, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			e := testenv.Start(t, testenv.Options{SkipReady: true, Log: logs, Configure: func(c *config.Config) {
				c.OIDC.Issuer += suffix
			}})
			body := e.WaitReadyzBody(t, "misconfigured")
			if !strings.Contains(body, "oidc.issuer") {
				t.Errorf("/readyz = %s, want the setting oidc.issuer named", body)
			}
			r, err := e.Client.Get(e.URL("/bff/login"))
			if err != nil {
				t.Fatal(err)
			}
			page := testenv.ReadAll(t, r)
			if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Sign-in is misconfigured") ||
				strings.Contains(page, "try again in a moment") {
				t.Fatalf("login: %d %s, want the misconfigured page", r.StatusCode, page)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "oidc.issuer") {
				t.Errorf("no error-level log line naming oidc.issuer:\n%s", logs)
			}
		})
	}
}

// TestIdPOutageStillSaysTryAgain: an IdP that is merely down keeps the transient wording
// (the misconfigured page must not swallow outages).
func TestIdPOutageStillSaysTryAgain(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there: connections are refused
	e := testenv.Start(t, testenv.Options{SkipReady: true, Configure: func(c *config.Config) {
		c.OIDC.Issuer = "http://" + addr
	}})
	body := e.WaitReadyzBody(t, "discovery pending")
	if strings.Contains(body, "misconfigured") {
		t.Fatalf("/readyz = %s for an outage", body)
	}
	r, err := e.Client.Get(e.URL("/bff/login"))
	if err != nil {
		t.Fatal(err)
	}
	if page := testenv.ReadAll(t, r); !strings.Contains(page, "try again in a moment") || strings.Contains(page, "misconfigured") {
		t.Fatalf("login during an outage: %s", page)
	}
}

// TestWrongClientSecretAtLoginSaysMisconfigured: the token endpoint refusing the client
// (invalid_client: a wrong oidc.clientSecret) at the code exchange gets the misconfigured
// page, and the log names the settings to check.
func TestWrongClientSecretAtLoginSaysMisconfigured(t *testing.T) {
	logs := &logbuf.Buffer{}
	e := testenv.Start(t, testenv.Options{Log: logs, Configure: func(c *config.Config) {
		c.OIDC.ClientSecret = "not-the-registered-secret-0123"
	}})
	cb := e.Authorize(t, e.Client, "alice", "/")
	r, err := e.Client.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	page := testenv.ReadAll(t, r)
	if !strings.Contains(page, "Sign-in is misconfigured") || strings.Contains(page, "try again in a moment") {
		t.Fatalf("callback with a wrong client secret: %d %s", r.StatusCode, page)
	}
	for _, setting := range []string{"oidc.clientID", "oidc.clientSecret", "oidc.tokenEndpointAuth"} {
		if !strings.Contains(logs.String(), setting) {
			t.Errorf("the log does not name %s:\n%s", setting, logs)
		}
	}
	if strings.Contains(logs.String(), "not-the-registered-secret-0123") {
		t.Error("the log holds the client secret")
	}
}

// TestRefusedClientAtRefreshSaysMisconfigured: an IdP that starts refusing the client
// (a rotated client secret the BFF was not given) at refresh answers API calls with a
// problem that says the BFF is misconfigured, keeps the session (fixing the setting lets
// it continue), and logs an error naming the settings.
func TestRefusedClientAtRefreshSaysMisconfigured(t *testing.T) {
	var refuse atomic.Bool
	logs := &logbuf.Buffer{}
	o := testenv.Options{Log: logs, WrapOP: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && strings.HasSuffix(r.URL.Path, "/token") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}}
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)
	e.Login(t, nil, "alice", "/")
	refuse.Store(true)
	time.Sleep(2100 * time.Millisecond) // the access token expires (see shortTokens)
	r := e.Do(t, nil, http.MethodGet, "/api/x", nil)
	body := testenv.ReadAll(t, r)
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "misconfigured") {
		t.Fatalf("API call while the client is refused: %d %s", r.StatusCode, body)
	}
	if r := e.Do(t, nil, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the session did not survive invalid_client: %d", r.StatusCode)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "oidc.clientSecret") {
		t.Errorf("no error-level log naming oidc.clientSecret:\n%s", logs)
	}
}
