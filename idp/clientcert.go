package idp

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // x5t is SHA-1 by definition (RFC 7515 §4.1.7); it only names the certificate
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Audiences of the client assertions (Config.ClientAssertionAudience).
const (
	// AssertionAudienceIssuer: aud is the issuer identifier alone (RFC 7523bis), so an
	// assertion cannot be replayed at another endpoint that takes its own URL as aud.
	AssertionAudienceIssuer = "issuer"
	// AssertionAudienceTokenEndpoint: aud is the discovered token endpoint URL, what
	// OIDC Core §9 names and what Microsoft Entra ID requires.
	AssertionAudienceTokenEndpoint = "tokenEndpoint"
)

// CheckClientCert says why cert cannot stand for key in client assertions, or nil: its
// public key must be key's and now must be within its validity. Errors never quote
// the key.
func CheckClientCert(cert *x509.Certificate, key crypto.Signer, now time.Time) error {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return errors.New("the certificate's public key is not the client key's: make the certificate for oidc.clientKey (`bff keygen --client-key rsa --client-cert`)")
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("the certificate is not valid before %s", cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("the certificate expired at %s: make and register a new one", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// certThumbprintHeaders are the JWS header parameters naming cert (RFC 7515 §4.1.7-8):
// x5t#S256, the base64url SHA-256 of its DER, and x5t, the SHA-1 one, for providers
// that read only that (older Entra ID documentation). Either is only a selector for a
// certificate the provider already holds, never trusted on its own: the signature is
// still checked with that registered key, so SHA-1's weakness gives nothing away.
func certThumbprintHeaders(cert *x509.Certificate) map[jose.HeaderKey]string {
	s256 := sha256.Sum256(cert.Raw)
	s1 := sha1.Sum(cert.Raw) //nolint:gosec // see above: a selector, not a security check
	return map[jose.HeaderKey]string{
		"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:]),
		"x5t":      base64.RawURLEncoding.EncodeToString(s1[:]),
	}
}

// assertionAudience is the aud of a client assertion under the configured audience.
func (p *Provider) assertionAudience() (string, error) {
	if p.cfg.ClientAssertionAudience != AssertionAudienceTokenEndpoint {
		return p.cfg.Issuer, nil
	}
	d := p.state.Load()
	if d == nil || d.meta.TokenEndpoint == "" {
		return "", fmt.Errorf("%w: client assertion: no token endpoint discovered yet", ErrUnavailable)
	}
	return d.meta.TokenEndpoint, nil
}
