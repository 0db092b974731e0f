package idp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/logbuf"
)

// TestMisconfiguredDiscoveryIsToldApartFromAnOutage: an operator who typed the wrong
// issuer (a mix-up-like mismatch, or a path with no discovery document) must be told to
// fix oidc.issuer, not to wait for an IdP that is up; an outage keeps its transient
// meaning.
func TestMisconfiguredDiscoveryIsToldApartFromAnOutage(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc // nil: the test OP
		issuer    func(op *testOP) string
		permanent bool
	}{
		{name: "issuer mismatch", permanent: true, issuer: func(op *testOP) string {
			op.setMeta("issuer", "https://other.example.net")
			return op.issuer
		}},
		{name: "404 discovery document", permanent: true, handler: func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}},
		{name: "503 (transient)", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{name: "connection refused (transient)", issuer: func(op *testOP) string {
			return "http://" + closedAddr(t)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			cfg := op.testConfig(&logbuf.Buffer{})
			if tt.issuer != nil {
				cfg.Issuer = tt.issuer(op)
			}
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				cfg.Issuer = srv.URL
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Discover(context.Background())
			if err == nil {
				t.Fatal("Discover succeeded")
			}
			if got := errors.Is(p.Ready(), ErrMisconfigured); got != tt.permanent {
				t.Fatalf("Ready() = %v: ErrMisconfigured %v, want %v", p.Ready(), got, tt.permanent)
			}
			if tt.permanent && !strings.Contains(err.Error(), "oidc.issuer") {
				t.Errorf("error %q does not name the setting oidc.issuer", err)
			}
		})
	}
}

// TestMisconfiguredDiscoveryIsLoggedAsAnError: the retry loop logs a wrong issuer at
// error level (an operator must act), an outage at warning level.
func TestMisconfiguredDiscoveryIsLoggedAsAnError(t *testing.T) {
	for _, tt := range []struct {
		name, wantLevel string
		status          int
	}{
		{name: "404", wantLevel: "level=ERROR", status: http.StatusNotFound},
		{name: "503", wantLevel: "level=WARN", status: http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			op := newTestOP(t)
			logs := &logbuf.Buffer{}
			cfg := op.testConfig(logs)
			cfg.Issuer = srv.URL
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p.logDiscoveryFailure(p.Discover(context.Background()), 0)
			if !strings.Contains(logs.String(), tt.wantLevel) {
				t.Errorf("log = %q, want %s", logs.String(), tt.wantLevel)
			}
		})
	}
}

// TestRefusedClientIsMisconfiguredAndNamesTheSettings: invalid_client or
// unauthorized_client from the token endpoint (a wrong secret, auth method or client id)
// is a misconfiguration: the error says which settings to check, and it still keeps a
// session (ErrUnavailable), unlike invalid_grant.
func TestRefusedClientIsMisconfiguredAndNamesTheSettings(t *testing.T) {
	for _, code := range []string{"invalid_client", "unauthorized_client", "invalid_grant", "temporarily_unavailable"} {
		t.Run(code, func(t *testing.T) {
			op := newTestOP(t)
			op.set(func(op *testOP) {
				op.token = func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code})
				}
			})
			p, logs := op.newProvider(nil)
			ar := op.loginAs(t)
			_, _, exErr := p.Exchange(context.Background(), testCode, ar)
			_, _, rfErr := p.Refresh(context.Background(), "refresh-token-1")
			refused := code == "invalid_client" || code == "unauthorized_client"
			for name, err := range map[string]error{"exchange": exErr, "refresh": rfErr} {
				if got := errors.Is(err, ErrMisconfigured); got != refused {
					t.Errorf("%s: %v: ErrMisconfigured %v, want %v", name, err, got, refused)
				}
				if refused && !errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: %v must keep the session (ErrUnavailable)", name, err)
				}
				if names := strings.Contains(err.Error(), "oidc.clientSecret"); names != refused {
					t.Errorf("%s: %q names oidc.clientSecret: %v, want %v", name, err, names, refused)
				}
				assertNoSecrets(t, err.Error(), ar)
			}
			assertNoSecrets(t, logs.String(), ar)
		})
	}
}
