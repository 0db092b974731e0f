package bff

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
)

// TestIDPConfigCarriesTheClientCertificate: oidc.clientCert and
// oidc.clientAssertionAudience reach the IdP client (a certificate config validated but
// never handed over would send assertions Entra ID cannot match to a key).
func TestIDPConfigCarriesTheClientCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	certPEM, err := NewClientCert(keyPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.OIDC.TokenEndpointAuth, cfg.OIDC.ClientKey = "private_key_jwt", string(keyPEM)
	cfg.OIDC.ClientCert, cfg.OIDC.ClientAssertionAudience = string(certPEM), "tokenEndpoint"
	ic, err := idpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := config.ParseCertificate(string(certPEM))
	if ic.ClientCert == nil || !ic.ClientCert.Equal(want) || ic.ClientAssertionAudience != "tokenEndpoint" {
		t.Fatalf("idp.Config: certificate %v, audience %q", ic.ClientCert != nil, ic.ClientAssertionAudience)
	}
}
