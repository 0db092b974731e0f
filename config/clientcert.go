package config

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ParseCertificate reads the PEM X.509 certificate of oidc.clientCert (the first
// CERTIFICATE block).
func ParseCertificate(pemText string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not a PEM block")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("a PEM %q block, not a CERTIFICATE", block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return cert, nil
}

// clientCertProblem is why certPEM cannot stand for the (valid) private key keyPEM at
// now, or "" (also when no certificate is set): it must parse, hold the key's public
// key and be within its validity. The IdP client checks the same again with its clock.
func clientCertProblem(certPEM, keyPEM string, now time.Time) string {
	if certPEM == "" {
		return ""
	}
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return "is not a certificate: " + err.Error() + " (PEM CERTIFICATE)"
	}
	key, _ := ParsePrivateKey(keyPEM) // validated before
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	switch {
	case key == nil:
		return ""
	case !ok || !pub.Equal(key.Public()):
		return "is not a certificate of oidc.clientKey: its public key differs (`bff keygen --client-key rsa --client-cert` makes both)"
	case now.Before(cert.NotBefore):
		return "is not valid before " + cert.NotBefore.UTC().Format(time.RFC3339)
	case now.After(cert.NotAfter):
		return "expired at " + cert.NotAfter.UTC().Format(time.RFC3339) + ": make and register a new one"
	}
	return ""
}
