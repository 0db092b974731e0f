package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestPrivateKeyJWTAssertionAtEveryEndpoint: with private_key_jwt, the code exchange, the
// refresh and the revocation each carry client_id and a fresh RFC 7523 assertion — signed
// with the client key by its algorithm, kid the key's thumbprint, iss = sub = client id,
// aud the issuer alone, a jti never repeated, one minute of life — and never a secret.
func TestPrivateKeyJWTAssertionAtEveryEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
	}{
		{"RSA", mustRSA(t, 2048), jose.RS256},
		{"ECDSA P-256", mustEC(t, elliptic.P256()), jose.ES256},
		{"Ed25519", mustEd25519(t), jose.EdDSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t)
			p, _ := op.newProvider(func(c *Config) {
				c.AuthStyle, c.ClientSecret, c.ClientKey = AuthStylePrivateKeyJWT, "", tc.key
			})
			reqs := authenticatedRequests(t, op, p)
			kid, _ := ClientKeyID(tc.key)
			jtis := map[string]bool{}
			for i, r := range reqs {
				claims := checkAssertion(t, r, tc.key.Public(), tc.alg, kid)
				if claims.Iss != testClientID || claims.Sub != testClientID || claims.Aud != op.issuer {
					t.Errorf("request %d: iss %q sub %q aud %q", i, claims.Iss, claims.Sub, claims.Aud)
				}
				now := op.clock.Now().Unix()
				if claims.Iat != now || claims.Exp != now+60 {
					t.Errorf("request %d: iat %d exp %d, want %d and +60", i, claims.Iat, claims.Exp, now)
				}
				if claims.Jti == "" || jtis[claims.Jti] {
					t.Errorf("request %d: jti %q empty or repeated", i, claims.Jti)
				}
				jtis[claims.Jti] = true
			}
		})
	}
}

// authenticatedRequests runs a code exchange, a refresh and a revocation through p and
// returns the three requests op received, in that order.
func authenticatedRequests(t *testing.T, op *testOP, p *Provider) []recordedReq {
	t.Helper()
	if _, _, err := p.Exchange(t.Context(), testCode, op.loginAs(t)); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if _, _, err := p.Refresh(t.Context(), "refresh-token-1"); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if err := p.Revoke(t.Context(), "refresh-token-1"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	reqs := append(op.tokenRequests(), op.revReqs...)
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	return reqs
}

type assertionClaims struct {
	Iss, Sub, Aud, Jti string
	Iat, Exp           int64
}

func checkAssertion(t *testing.T, r recordedReq, pub crypto.PublicKey, alg jose.SignatureAlgorithm, kid string) assertionClaims {
	t.Helper()
	if r.Authorization != "" || r.Form.Has("client_secret") {
		t.Fatalf("a secret travelled: Authorization %q, client_secret %v", r.Authorization, r.Form.Has("client_secret"))
	}
	if r.Form.Get("client_id") != testClientID || r.Form.Get("client_assertion_type") != clientAssertionType {
		t.Fatalf("client_id %q, client_assertion_type %q", r.Form.Get("client_id"), r.Form.Get("client_assertion_type"))
	}
	jws, err := jose.ParseSignedCompact(r.Form.Get("client_assertion"), []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("assertion: %v", err)
	}
	if h := jws.Signatures[0].Header; h.KeyID != kid || h.ExtraHeaders["typ"] != "JWT" {
		t.Fatalf("header kid %q typ %v, want %q JWT", h.KeyID, h.ExtraHeaders["typ"], kid)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("assertion signature: %v", err)
	}
	var c assertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAuthConfigIsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"secret with basic", func(c *Config) {}, ""},
		{"key with private_key_jwt", func(c *Config) {
			c.AuthStyle, c.ClientSecret, c.ClientKey = AuthStylePrivateKeyJWT, "", mustEC(t, elliptic.P256())
		}, ""},
		{"private_key_jwt without a key", func(c *Config) { c.AuthStyle, c.ClientSecret = AuthStylePrivateKeyJWT, "" }, "ClientKey is required"},
		{"private_key_jwt with a leftover secret", func(c *Config) { c.AuthStyle, c.ClientKey = AuthStylePrivateKeyJWT, mustEd25519(t) }, "drop the secret"},
		{"a key with client_secret_post", func(c *Config) { c.AuthStyle, c.ClientKey = AuthStylePost, mustEd25519(t) }, "use private_key_jwt"},
		{"RSA under 2048 bits", func(c *Config) {
			c.AuthStyle, c.ClientSecret, c.ClientKey = AuthStylePrivateKeyJWT, "", mustRSA(t, 1024)
		}, "2048"},
		{"ECDSA P-384", func(c *Config) {
			c.AuthStyle, c.ClientSecret, c.ClientKey = AuthStylePrivateKeyJWT, "", mustEC(t, elliptic.P384())
		}, "P-256"},
		{"client_secret_jwt", func(c *Config) { c.AuthStyle = "client_secret_jwt" }, "private_key_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t)
			cfg := op.testConfig(nil)
			tc.edit(&cfg)
			checkNew(t, cfg, tc.want)
		})
	}
}

// checkNew fails t unless New(cfg) succeeds (want "") or fails with ErrInvalidConfig
// mentioning want.
func checkNew(t *testing.T, cfg Config, want string) {
	t.Helper()
	_, err := New(cfg)
	switch {
	case want == "" && err != nil:
		t.Fatalf("New: %v", err)
	case want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want)):
		t.Fatalf("New: %v, want ErrInvalidConfig mentioning %q", err, want)
	}
}

func TestPublicJWKSIsWhatTheProviderVerifiesWith(t *testing.T) {
	key := mustEC(t, elliptic.P256())
	kid, _ := ClientKeyID(key)
	raw, err := PublicJWKS(key, kid)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", raw, err)
	}
	k := set.Keys[0]
	if k.KeyID != kid || k.Algorithm != "ES256" || !k.IsPublic() || strings.Contains(string(raw), `"d"`) {
		t.Fatalf("JWKS %s: want the public key only, kid %s, alg ES256", raw, kid)
	}
}

func mustRSA(t *testing.T, bits int) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEC(t *testing.T, c elliptic.Curve) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd25519(t *testing.T) crypto.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
