package handler_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/handler"
	"github.com/tokenward/bff/internal/testenv"
)

// TestForwardAuthAnswersEnvoyGatewaysAppendedPath: Envoy Gateway's SecurityPolicy
// (extAuth.http.path: /bff/auth, the Helm chart's) appends the original request's path
// and calls with its method, so the BFF gets e.g. POST /bff/auth/dashboard/save. That is
// forward-auth exactly as /bff/auth is — the same session check, the same trusted-proxy
// rule, the same metric route — never a 404 that would deny every request.
func TestForwardAuthAnswersEnvoyGatewaysAppendedPath(t *testing.T) {
	trusted := testenv.Start(t, testenv.Options{Configure: testenv.TrustLoopback})
	untrusted := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Server.TrustedProxies, c.Server.ForwardAuth = []string{"10.0.0.0/8"}, true
	}})
	paths := []string{"/bff/auth/", "/bff/auth/dashboard/page", "/bff/auth/api/items/7"}
	for _, p := range paths {
		if r := trusted.AuthRequest(t, trusted.NewClient(t), p, nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s without a session: %d, want 401", p, r.StatusCode)
		}
	}
	trusted.Login(t, nil, "alice", "/")
	untrusted.Login(t, nil, "alice", "/")
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, trusted.URL(p), nil)
			r, err := trusted.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
				t.Fatalf("%s %s with a session: %d, Authorization set: %v", method, p, r.StatusCode, r.Header.Get("Authorization") != "")
			}
		}
		if r := untrusted.AuthRequest(t, untrusted.Client, p, nil); r.StatusCode != http.StatusForbidden || r.Header.Get("Authorization") != "" {
			t.Fatalf("%s from an untrusted peer: %d, want 403 without a token", p, r.StatusCode)
		}
		if got := handler.RouteName(p); got != "bff_auth" {
			t.Errorf("route name of %s = %q, want bff_auth", p, got)
		}
	}
}
