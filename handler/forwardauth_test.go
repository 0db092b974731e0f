package handler_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestForwardAuth: /bff/auth answers 200 with the bearer (refreshed after expiry) for a
// session, and 401 without one — no CSRF header needed, it is the ingress calling.
func TestForwardAuth(t *testing.T) {
	o := testenv.Options{Configure: testenv.TrustLoopback}
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)
	if r := e.AuthRequest(t, e.Client, "/bff/auth", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a session: %d", r.StatusCode)
	}
	e.Login(t, nil, "alice", "/")
	first := e.AuthRequest(t, e.Client, "/bff/auth", nil)
	tok := strings.TrimPrefix(first.Header.Get("Authorization"), "Bearer ")
	if first.StatusCode != http.StatusOK || tok == "" || first.Header.Get("X-Auth-Request-User") == "" ||
		first.Header.Get("X-Auth-Request-Email") == "" {
		t.Fatalf("with a session: %d %v", first.StatusCode, first.Header)
	}
	if first.Header.Get("Set-Cookie") != "" {
		t.Fatal("forward-auth set a cookie")
	}
	time.Sleep(2100 * time.Millisecond)
	second := e.AuthRequest(t, e.Client, "/bff/auth", nil)
	if got := strings.TrimPrefix(second.Header.Get("Authorization"), "Bearer "); second.StatusCode != http.StatusOK || got == tok {
		t.Fatalf("after expiry: %d, token refreshed: %v", second.StatusCode, got != tok)
	}
	if e.OP.Stats().RefreshGrants != 1 {
		t.Fatalf("refresh grants: %d", e.OP.Stats().RefreshGrants)
	}
}

// TestForwardAuthRefusesBrowsers: the endpoint that hands out the access token in a
// response header answers only the ingress (a trusted proxy). Reachable by the browser,
// it would let an XSS on the app's origin read the token with fetch('/bff/auth').
func TestForwardAuthRefusesBrowsers(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*config.Config)
		status    int
		typ       string
	}{
		{name: "off by default", status: http.StatusNotFound, typ: "not_found"},
		{name: "on, but the browser is not a trusted proxy", configure: func(c *config.Config) {
			c.Server.TrustedProxies, c.Server.ForwardAuth = []string{"10.0.0.0/8"}, true
		}, status: http.StatusForbidden, typ: "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Configure: tc.configure})
			e.Login(t, nil, "alice", "/")
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req, _ := http.NewRequest(method, e.URL("/bff/auth"), nil)
				req.Header.Set("X-CSRF", "1")
				r, err := e.Client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := testenv.ReadAll(t, r)
				if r.StatusCode != tc.status || r.Header.Get("Authorization") != "" || !strings.Contains(body, `"`+tc.typ+`"`) {
					t.Fatalf("%s: %d, Authorization %q: %s", method, r.StatusCode, r.Header.Get("Authorization"), body)
				}
			}
		})
	}
}

// TestForwardAuthTrustsForwardedURIOnlyFromProxies: the login redirect of ?redirect=1 uses
// X-Forwarded-Uri only from server.trustedProxies, and only when it is a safe returnTo
// (oauth2-proxy's open redirects came from trusting it).
func TestForwardAuthTrustsForwardedURIOnlyFromProxies(t *testing.T) {
	trusted := testenv.Start(t, testenv.Options{Configure: testenv.TrustLoopback})
	untrusted := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Server.TrustedProxies, c.Server.ForwardAuth = []string{"10.0.0.0/8"}, true
	}})
	tests := []struct {
		name     string
		env      *testenv.Env
		uri      string
		status   int
		location string
	}{
		{name: "trusted proxy, safe uri", env: trusted, uri: "/app/page?x=1", status: 302, location: "/bff/login?returnTo=%2Fapp%2Fpage%3Fx%3D1"},
		{name: "trusted proxy, open redirect attempt", env: trusted, uri: "//evil.example/", status: 401},
		{name: "trusted proxy, into bff", env: trusted, uri: "/bff/logout", status: 401},
		{name: "untrusted client forging the header", env: untrusted, uri: "/app", status: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.env.AuthRequest(t, tc.env.NewClient(t), "/bff/auth?redirect=1", map[string]string{
				"X-Forwarded-Uri": tc.uri, "X-Forwarded-Method": "GET",
			})
			if r.StatusCode != tc.status || r.Header.Get("Location") != tc.location {
				t.Fatalf("got %d %q, want %d %q", r.StatusCode, r.Header.Get("Location"), tc.status, tc.location)
			}
		})
	}
}
