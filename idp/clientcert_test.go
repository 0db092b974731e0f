package idp

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the x5t header is SHA-1 by definition
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestClientCertAndAudienceInTheAssertion: with a client certificate, every assertion
// (token, refresh, revocation) names it in its header by x5t#S256 and x5t — the SHA-256
// and SHA-1 thumbprints of its DER, what Entra ID looks the key up by — and without
// one neither header appears; aud is the issuer by default and the discovered token
// endpoint under ClientAssertionAudience tokenEndpoint, at every endpoint.
func TestClientCertAndAudienceInTheAssertion(t *testing.T) {
	key := mustRSA(t, 2048)
	for _, tc := range []struct {
		name     string
		cert     bool
		audience string
		wantAud  func(op *testOP) string
	}{
		{"no cert, default audience", false, "", func(op *testOP) string { return op.issuer }},
		{"cert, issuer audience", true, AssertionAudienceIssuer, func(op *testOP) string { return op.issuer }},
		{"cert, token endpoint audience", true, AssertionAudienceTokenEndpoint, func(op *testOP) string { return op.issuer + "/token" }},
		{"no cert, token endpoint audience", false, AssertionAudienceTokenEndpoint, func(op *testOP) string { return op.issuer + "/token" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t)
			var cert *x509.Certificate
			if tc.cert {
				cert = mustCert(t, key, op.clock.Now().Add(-time.Hour), op.clock.Now().Add(time.Hour))
			}
			p, _ := op.newProvider(func(c *Config) {
				c.AuthStyle, c.ClientSecret, c.ClientKey = AuthStylePrivateKeyJWT, "", key
				c.ClientCert, c.ClientAssertionAudience = cert, tc.audience
			})
			reqs := authenticatedRequests(t, op, p)
			kid, _ := ClientKeyID(key)
			for i, r := range reqs {
				claims := checkAssertion(t, r, key.Public(), jose.RS256, kid)
				if claims.Aud != tc.wantAud(op) {
					t.Errorf("request %d: aud %q, want %q", i, claims.Aud, tc.wantAud(op))
				}
				s256, s1 := assertionThumbprints(t, r)
				want256, want1 := "", ""
				if cert != nil {
					h256, h1 := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw) //nolint:gosec // x5t
					want256, want1 = base64.RawURLEncoding.EncodeToString(h256[:]), base64.RawURLEncoding.EncodeToString(h1[:])
				}
				if s256 != want256 || s1 != want1 {
					t.Errorf("request %d: x5t#S256 %q x5t %q, want %q and %q", i, s256, s1, want256, want1)
				}
			}
		})
	}
}

// assertionThumbprints reads the x5t#S256 and x5t header parameters of r's assertion
// ("" when absent) from its raw protected header, as a provider would.
func assertionThumbprints(t *testing.T, r recordedReq) (s256, s1 string) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(r.Form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("assertion: %v", err)
	}
	h := jws.Signatures[0].Header
	if v, ok := h.ExtraHeaders["x5t#S256"].(string); ok {
		s256 = v
	}
	if v, ok := h.ExtraHeaders["x5t"].(string); ok {
		s1 = v
	}
	return s256, s1
}

// TestClientCertMustMatchTheKeyAndBeValid: a certificate of another key, an expired one
// or one not valid yet is refused by New with a message saying which; a certificate
// with a client_secret style, or an unknown audience, too.
func TestClientCertMustMatchTheKeyAndBeValid(t *testing.T) {
	key, other := mustRSA(t, 2048), mustEC(t, elliptic.P256())
	for _, tc := range []struct {
		name string
		edit func(c *Config, now time.Time)
		want string // "" = valid
	}{
		{"matching and valid", func(c *Config, now time.Time) {
			c.ClientCert = mustCert(t, key, now.Add(-time.Hour), now.Add(time.Hour))
		}, ""},
		{"another key's certificate", func(c *Config, now time.Time) {
			c.ClientCert = mustCert(t, other, now.Add(-time.Hour), now.Add(time.Hour))
		}, "not the client key's"},
		{"expired", func(c *Config, now time.Time) {
			c.ClientCert = mustCert(t, key, now.Add(-2*time.Hour), now.Add(-time.Hour))
		}, "expired"},
		{"not yet valid", func(c *Config, now time.Time) {
			c.ClientCert = mustCert(t, key, now.Add(time.Hour), now.Add(2*time.Hour))
		}, "not valid before"},
		{"unknown audience", func(c *Config, now time.Time) { c.ClientAssertionAudience = "tokenendpoint" }, "ClientAssertionAudience"},
		{"certificate with client_secret_basic", func(c *Config, now time.Time) {
			c.AuthStyle, c.ClientSecret, c.ClientKey = AuthStyleBasic, "s", nil
			c.ClientCert = mustCert(t, key, now.Add(-time.Hour), now.Add(time.Hour))
		}, "ClientCert is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t)
			cfg := op.testConfig(nil)
			cfg.AuthStyle, cfg.ClientSecret, cfg.ClientKey = AuthStylePrivateKeyJWT, "", key
			tc.edit(&cfg, op.clock.Now())
			checkNew(t, cfg, tc.want)
		})
	}
}

// mustCert is a self-signed certificate of key valid from notBefore to notAfter.
func mustCert(t *testing.T, key crypto.Signer, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client"},
		NotBefore: notBefore, NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
