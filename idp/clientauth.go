package idp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// AuthStylePrivateKeyJWT: the client authenticates with a JWT signed by its own private
// key (RFC 7523 §2.2, OIDC Core §9 private_key_jwt) instead of a shared secret: nothing
// the provider stores can be replayed as the client's credential, and the key can live
// in a file only the BFF reads.
const AuthStylePrivateKeyJWT = "private_key_jwt"

// clientAssertionType is the RFC 7523 §2.2 client_assertion_type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientAssertionLifetime bounds a client assertion's exp: each request gets a fresh
// one, so a captured assertion is worth a minute at most.
const clientAssertionLifetime = time.Minute

// ClientKeyAlgorithm is the JWS algorithm the BFF signs its client assertions with for
// key: RS256 for RSA (2048 bits or more), ES256 for ECDSA P-256, EdDSA for Ed25519.
// Other keys are refused.
func ClientKeyAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA client key of %d bits: use 2048 or more", k.N.BitLen())
		}
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("ECDSA client key: only P-256 (ES256) is supported")
		}
		return jose.ES256, nil
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	default:
		return "", fmt.Errorf("client key of type %T: use RSA, ECDSA P-256 or Ed25519", k)
	}
}

// ClientKeyID is the key id used when none is configured: the RFC 7638 JWK thumbprint
// of the public key (SHA-256, base64url), which the provider can compute too.
func ClientKeyID(key crypto.Signer) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("client key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PublicJWKS is the JSON Web Key Set to register at the provider for key (with kid and
// alg), as `bff keygen --client-key` prints it.
func PublicJWKS(key crypto.Signer, kid string) ([]byte, error) {
	alg, err := ClientKeyAlgorithm(key)
	if err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: string(alg), Use: "sig"}
	return json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}}, "", "  ")
}

// authenticate adds the client's authentication to a back-channel request (token,
// revocation, PAR) whose form is not encoded yet: HTTP Basic with form-urlencoded id and
// secret (RFC 6749 §2.3.1), id and secret in the form, or a fresh signed assertion.
func (p *Provider) authenticate(req *http.Request, form url.Values) error {
	switch p.cfg.AuthStyle {
	case AuthStyleBasic:
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	case AuthStylePost:
		form.Set("client_id", p.cfg.ClientID)
		form.Set("client_secret", p.cfg.ClientSecret)
	case AuthStylePrivateKeyJWT:
		assertion, err := p.clientAssertion()
		if err != nil {
			return err
		}
		form.Set("client_id", p.cfg.ClientID)
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", assertion)
	default:
		return fmt.Errorf("%w: unknown client authentication %q", ErrInvalidConfig, p.cfg.AuthStyle)
	}
	return nil
}

// clientAssertion is a fresh client assertion (RFC 7523 §3): iss and sub the client id,
// aud by default the issuer identifier alone (as RFC 7523bis asks, so an assertion
// cannot be replayed at another endpoint that accepts its own URL as the audience) or
// the token endpoint when so configured (see assertionAudience), a random jti, and a
// one-minute life.
func (p *Provider) clientAssertion() (string, error) {
	aud, err := p.assertionAudience()
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	now := p.cfg.Now()
	claims, err := json.Marshal(map[string]any{
		"iss": p.cfg.ClientID, "sub": p.cfg.ClientID, "aud": aud,
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"iat": now.Unix(), "exp": now.Add(clientAssertionLifetime).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	sig, err := p.assertionSigner()
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("client assertion: signing: %w", err)
	}
	return jws.CompactSerialize()
}

func (p *Provider) assertionSigner() (jose.Signer, error) {
	alg, err := ClientKeyAlgorithm(p.cfg.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	key := jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: p.cfg.ClientKey, KeyID: p.cfg.ClientKeyID}}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if p.cfg.ClientCert != nil {
		for k, v := range certThumbprintHeaders(p.cfg.ClientCert) {
			opts = opts.WithHeader(k, v)
		}
	}
	s, err := jose.NewSigner(key, opts)
	if err != nil {
		return nil, fmt.Errorf("client assertion: signer: %w", err)
	}
	return s, nil
}
