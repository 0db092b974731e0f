package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tokenward/bff/config"
)

func TestKeygenPrintsUniqueValidKeys(t *testing.T) {
	seen := map[string]bool{}
	for run := range 2 {
		a := newTestApp(nil)
		if code := a.run(context.Background(), []string{"keygen", "--count", "5"}); code != exitOK {
			t.Fatalf("exit code = %d, stderr: %s", code, a.stderr)
		}
		keys := strings.Fields(a.stdout.String())
		if len(keys) != 5 {
			t.Fatalf("run %d printed %d keys, want 5: %q", run, len(keys), a.stdout)
		}
		for _, k := range keys {
			raw, err := base64.StdEncoding.Strict().DecodeString(k)
			if err != nil || len(raw) != 32 {
				t.Errorf("key %q: %d bytes, err %v; want standard base64 of 32 bytes", k, len(raw), err)
			}
			if seen[k] {
				t.Errorf("key printed twice: %q", k)
			}
			seen[k] = true
		}
		if !strings.Contains(a.stderr.String(), "FIRST in session.keys") {
			t.Errorf("no guidance on stderr: %q", a.stderr)
		}
		// What keygen prints is what config accepts.
		c := config.Defaults()
		c.Server.PublicURL, c.OIDC.Issuer, c.OIDC.ClientID, c.OIDC.ClientSecret = "https://a.example", "https://i.example", "id", "s"
		c.Session.Keys = keys
		if err := config.Validate(c); err != nil {
			t.Errorf("keygen output does not validate as session.keys: %v", err)
		}
	}
}

func TestKeygenDefaultsToOneKey(t *testing.T) {
	a := newTestApp(nil)
	if code := a.run(context.Background(), []string{"keygen"}); code != exitOK {
		t.Fatalf("exit code = %d", code)
	}
	if n := len(strings.Fields(a.stdout.String())); n != 1 {
		t.Errorf("printed %d keys, want 1", n)
	}
}

func TestKeygenRejectsBadCount(t *testing.T) {
	tests := []struct {
		name  string
		count string
	}{
		{name: "zero", count: "0"},
		{name: "negative", count: "-3"},
		{name: "too many", count: "101"},
		{name: "not a number", count: "many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(nil)
			if code := a.run(context.Background(), []string{"keygen", "--count", tt.count}); code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if a.stdout.Len() != 0 {
				t.Errorf("printed keys despite a bad count: %q", a.stdout)
			}
		})
	}
}

func TestNewKeyFailsWithoutRandomness(t *testing.T) {
	if k, err := newKey(iotest.ErrReader(iotest.ErrTimeout)); err == nil || k != "" {
		t.Fatalf("newKey with a failing reader = %q, %v; want an error", k, err)
	}
}

// TestKeygenClientKeyIsWhatConfigAccepts: `bff keygen --client-key KIND > client.key`
// writes a key that config takes as oidc.clientKey under private_key_jwt, and stderr
// carries the public JWKS (no private part) with the kid to register.
func TestKeygenClientKeyIsWhatConfigAccepts(t *testing.T) {
	for _, kind := range []string{"rsa", "ec", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			a := newTestApp(nil)
			if code := a.run(context.Background(), []string{"keygen", "--client-key", kind}); code != exitOK {
				t.Fatalf("exit code = %d, stderr: %s", code, a.stderr)
			}
			if err := config.Validate(clientKeyConfig(a.stdout.String())); err != nil {
				t.Fatalf("keygen's client key does not validate: %v", err)
			}
			stderr := a.stderr.String()
			if !strings.Contains(stderr, `"kid"`) || !strings.Contains(stderr, "oidc.clientKeyFile") || strings.Contains(stderr, `"d":`) {
				t.Fatalf("stderr should show the public JWKS and the settings, never the private key: %s", stderr)
			}
			if strings.Contains(a.stdout.String(), "{") {
				t.Fatal("stdout must hold only the PEM key")
			}
		})
	}
	a := newTestApp(nil)
	if code := a.run(context.Background(), []string{"keygen", "--client-key", "dsa"}); code != exitUsage {
		t.Fatalf("unknown kind: exit %d, want %d", code, exitUsage)
	}
}

// TestKeygenClientCertMatchesTheKey: `bff keygen --client-key rsa --client-cert` keeps
// stdout the key alone and adds on stderr a self-signed SHA-256 certificate of that key
// (CN "tokenward bff client", one year) that config accepts as oidc.clientCert with it;
// --client-cert alone is a usage error.
func TestKeygenClientCertMatchesTheKey(t *testing.T) {
	a := newTestApp(nil)
	if code := a.run(context.Background(), []string{"keygen", "--client-key", "rsa", "--client-cert"}); code != exitOK {
		t.Fatalf("exit code = %d, stderr: %s", code, a.stderr)
	}
	if strings.Contains(a.stdout.String(), "CERTIFICATE") {
		t.Fatal("stdout must hold only the PEM key")
	}
	stderr := a.stderr.String()
	cert, err := config.ParseCertificate(stderr[strings.Index(stderr, "-----BEGIN CERTIFICATE"):])
	if err != nil {
		t.Fatalf("no certificate on stderr: %v\n%s", err, stderr)
	}
	key, err := config.ParsePrivateKey(a.stdout.String())
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(key.Public()) {
		t.Fatal("the certificate is not of the printed key")
	}
	if cert.Subject.CommonName != "tokenward bff client" || cert.SignatureAlgorithm != x509.SHA256WithRSA ||
		cert.NotAfter.Sub(cert.NotBefore) < 365*24*time.Hour || cert.NotAfter.Sub(cert.NotBefore) > 366*24*time.Hour {
		t.Fatalf("certificate CN %q, algorithm %v, valid %v to %v", cert.Subject.CommonName, cert.SignatureAlgorithm, cert.NotBefore, cert.NotAfter)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	c := clientKeyConfig(a.stdout.String())
	c.OIDC.ClientCert, c.OIDC.ClientAssertionAudience = stderr[strings.Index(stderr, "-----BEGIN CERTIFICATE"):], "tokenEndpoint"
	if err := config.Validate(c); err != nil {
		t.Fatalf("keygen's key and certificate do not validate: %v", err)
	}
	a = newTestApp(nil)
	if code := a.run(context.Background(), []string{"keygen", "--client-cert"}); code != exitUsage {
		t.Fatalf("--client-cert without --client-key: exit %d, want %d", code, exitUsage)
	}
}

// clientKeyConfig is a valid configuration but for the private_key_jwt client key pemKey.
func clientKeyConfig(pemKey string) config.Config {
	c := config.Defaults()
	c.Server.PublicURL, c.OIDC.Issuer, c.OIDC.ClientID = "https://a.example", "https://i.example", "id"
	c.OIDC.TokenEndpointAuth, c.OIDC.ClientKey = "private_key_jwt", pemKey
	c.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	return c
}
