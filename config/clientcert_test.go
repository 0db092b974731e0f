package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// TestClientCertIsValidated: oidc.clientCert must parse, hold oidc.clientKey's public
// key and be valid now, and is refused without private_key_jwt;
// oidc.clientAssertionAudience is issuer or tokenEndpoint. Each problem names its key.
func TestClientCertIsValidated(t *testing.T) {
	key, err := ParsePrivateKey(testClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := certPEM(t, key.Public(), key, now.Add(-time.Hour), now.Add(time.Hour))
	for _, tc := range []struct {
		name, cert, audience, wantPath, wantInMsg string
		auth                                      string
	}{
		{name: "matching certificate, token endpoint audience", cert: good, audience: "tokenEndpoint"},
		{name: "no certificate", audience: "issuer"},
		{name: "not a certificate", cert: testClientKeyPEM, audience: "issuer", wantPath: "oidc.clientCert", wantInMsg: "not a certificate"},
		{name: "another key's certificate", cert: certPEM(t, other.Public(), other, now.Add(-time.Hour), now.Add(time.Hour)),
			audience: "issuer", wantPath: "oidc.clientCert", wantInMsg: "not a certificate of oidc.clientKey"},
		{name: "expired", cert: certPEM(t, key.Public(), key, now.Add(-2*time.Hour), now.Add(-time.Hour)),
			audience: "issuer", wantPath: "oidc.clientCert", wantInMsg: "expired"},
		{name: "unknown audience", audience: "token_endpoint", wantPath: "oidc.clientAssertionAudience", wantInMsg: "issuer, tokenEndpoint"},
		{name: "certificate with client_secret_basic", cert: good, audience: "issuer", auth: "client_secret_basic",
			wantPath: "oidc.clientCert", wantInMsg: "private_key_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.OIDC.ClientCert, c.OIDC.ClientAssertionAudience = tc.cert, tc.audience
			if tc.auth == "" {
				c.OIDC.TokenEndpointAuth, c.OIDC.ClientSecret, c.OIDC.ClientKey = "private_key_jwt", "", testClientKeyPEM
			}
			err := Validate(c)
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if _, ok := findProblem(problemsOf(t, err), tc.wantPath, tc.wantInMsg); !ok {
				t.Fatalf("no problem at %s mentioning %q in %v", tc.wantPath, tc.wantInMsg, err)
			}
		})
	}
}

// certPEM is a self-signed PEM certificate of pub (signed by signer) valid from
// notBefore to notAfter.
func certPEM(t *testing.T, pub any, signer any, notBefore, notAfter time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
