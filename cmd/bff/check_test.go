package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestCheckBadConfigPrintsEveryProblem(t *testing.T) {
	file := writeConfig(t, `
server:
  publicURL: http://app.example.com
oidc:
  issuer: https://idp.example.com
  clientId: spa
  scopes: [profile]
session:
  keys: ["c2hvcnQ="]
  sameSite: none
routes:
  - {path: /bff/x/, upstream: "http://127.0.0.1:9000"}
log: {format: logfmt}
`)
	a := newTestApp(nil)
	code := a.run(context.Background(), []string{"check", "--config", file, "--set", "oidc.clientSecret=" + "pw-in-set"})
	if code != exitUsage {
		t.Fatalf("exit code = %d, want %d", code, exitUsage)
	}
	want := []string{
		"log.format: ",
		"oidc.clientID: is required",
		"oidc.clientId: line 6: unknown key",
		"oidc.scopes: must contain openid",
		"routes[0].path: ",
		"server.publicURL: must use https",
		"session.keys[0]: decodes to 5 bytes",
		"session.sameSite: ",
	}
	out := a.stderr.String()
	last := -1
	for _, w := range want {
		i := strings.Index(out, "  "+w)
		if i < 0 {
			t.Errorf("output lacks %q:\n%s", w, out)
			continue
		}
		if i < last {
			t.Errorf("%q is out of order:\n%s", w, out)
		}
		last = i
	}
	if !strings.Contains(out, "problem(s)") {
		t.Errorf("no problem count:\n%s", out)
	}
	if strings.Contains(out, "pw-in-set") || strings.Contains(out, "c2hvcnQ=") {
		t.Errorf("check prints a secret:\n%s", out)
	}
	if a.discovered != 0 {
		t.Error("an invalid configuration must not reach the IdP")
	}
}

func TestCheckDiscovery(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		discoverErr  error
		wantCode     int
		wantDiscover int
		wantStdout   string
		wantStderr   string
	}{
		{name: "offline", args: []string{"--offline"}, wantCode: exitOK, wantDiscover: 0, wantStdout: "discovery skipped"},
		{name: "discovery succeeds", wantCode: exitOK, wantDiscover: 1, wantStdout: "discovery OK"},
		{
			name: "discovery fails", discoverErr: errors.New("idp: provider unavailable"),
			wantCode: exitRuntime, wantDiscover: 1, wantStderr: "provider unavailable",
		},
		{name: "bad timeout", args: []string{"--timeout", "0s"}, wantCode: exitUsage, wantStderr: "--timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(validEnv())
			a.discoverErr = tt.discoverErr
			code := a.run(context.Background(), append([]string{"check"}, tt.args...))
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, a.stderr)
			}
			if a.discovered != tt.wantDiscover {
				t.Errorf("discover called %d times, want %d", a.discovered, tt.wantDiscover)
			}
			if !strings.Contains(a.stdout.String(), tt.wantStdout) || !strings.Contains(a.stderr.String(), tt.wantStderr) {
				t.Errorf("stdout %q / stderr %q lack %q / %q", a.stdout, a.stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestCheckReportsWhatToRegister(t *testing.T) {
	a := newTestApp(validEnv())
	if code := a.run(context.Background(), []string{"check", "--offline"}); code != exitOK {
		t.Fatalf("exit code = %d; stderr: %s", code, a.stderr)
	}
	if !strings.Contains(a.stdout.String(), "redirect URI              http://localhost:8080/bff/callback") {
		t.Errorf("stdout lacks the redirect URI: %s", a.stdout)
	}
	for _, uri := range []string{"post-logout redirect URI  http://localhost:8080/\n", "back-channel logout URI   http://localhost:8080/bff/backchannel-logout\n"} {
		if !strings.Contains(a.stdout.String(), uri) {
			t.Errorf("stdout lacks %q: %s", uri, a.stdout)
		}
	}
	if !strings.Contains(a.stderr.String(), "warning: session.store is embedded") {
		t.Errorf("stderr lacks the embedded-store warning: %s", a.stderr)
	}
}

// TestCheckDiscoversALoopbackIssuer runs the real discovery (idp package) against a
// loopback issuer serving a discovery document and a JWKS.
func TestCheckDiscoversALoopbackIssuer(t *testing.T) {
	issuer := newFakeIssuer(t)
	env := append(validEnv(), "BFF_OIDC_ISSUER="+issuer)
	a := newApp(new(strings.Builder), new(strings.Builder), env)
	stdout, stderr := a.stdout.(*strings.Builder), a.stderr.(*strings.Builder)
	if code := a.run(context.Background(), []string{"check", "--timeout", "5s"}); code != exitOK {
		t.Fatalf("exit code = %d; stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout.String(), "discovery OK: "+issuer) {
		t.Errorf("stdout: %s", stdout)
	}
}

func TestCheckFailsFastOnAnUnreachableIssuer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	env := append(validEnv(), "BFF_OIDC_ISSUER=http://"+addr)
	a := newApp(new(strings.Builder), new(strings.Builder), env)
	if code := a.run(context.Background(), []string{"check", "--timeout", "2s"}); code != exitRuntime {
		t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitRuntime, a.stderr)
	}
	if out := a.stderr.(*strings.Builder).String(); strings.Contains(out, "client-secret-value") {
		t.Errorf("discovery error leaks the client secret: %s", out)
	}
}

// newFakeIssuer serves /.well-known/openid-configuration and a JWKS of one RSA key on
// loopback, and returns the issuer URL.
func newFakeIssuer(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                srv.URL,
			"authorization_endpoint":                srv.URL + "/authorize",
			"token_endpoint":                        srv.URL + "/token",
			"jwks_uri":                              srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	})
	return srv.URL
}

// TestCheckAndServeRefuseABearerInClearText: a route to plain http on a remote host makes
// both check and serve exit 2 with the route's key path and the fix; with the opt-in,
// check passes and warns.
func TestCheckAndServeRefuseABearerInClearText(t *testing.T) {
	route := `BFF_ROUTES=[{name: api, path: /api/, upstream: "http://api.internal:9000"}]`
	for _, args := range [][]string{{"check", "--offline"}, {"serve"}} {
		cmd := args[0]
		a := newTestApp(append(validEnv(), route))
		if code := a.run(context.Background(), args); code != exitUsage {
			t.Fatalf("%s: exit code = %d, want %d; stderr: %s", cmd, code, exitUsage, a.stderr)
		}
		if out := a.stderr.String(); !strings.Contains(out, "routes[0].upstream: plain http") || !strings.Contains(out, "routes[0].allowInsecureUpstream: true") {
			t.Errorf("%s: stderr lacks the problem and its fix:\n%s", cmd, out)
		}
		if a.served != nil {
			t.Errorf("serve started with a bearer in clear text")
		}
	}
	optIn := `BFF_ROUTES=[{name: api, path: /api/, upstream: "http://api.internal:9000", allowInsecureUpstream: true}]`
	a := newTestApp(append(validEnv(), optIn))
	if code := a.run(context.Background(), []string{"check", "--offline"}); code != exitOK {
		t.Fatalf("exit code = %d with the opt-in; stderr: %s", code, a.stderr)
	}
	if !strings.Contains(a.stderr.String(), "warning: routes[0].allowInsecureUpstream is set") {
		t.Errorf("no warning for the opt-in: %s", a.stderr)
	}
}
