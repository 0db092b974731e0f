package bff

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// What `bff check`, `bff serve` and `bff keygen` need of the layers below, so that the CLI
// talks to the assembly only.

// PingStore connects to cfg's Redis session store and PINGs it once; nil for the
// embedded store, which has nothing to reach.
func PingStore(ctx context.Context, cfg config.Config) error {
	if cfg.Embedded() {
		return nil
	}
	keys, err := session.ParseKeys(cfg.Session.Keys)
	if err != nil {
		return fmt.Errorf("session keys: %w", err)
	}
	st, err := session.NewRedis(ctx, session.Options{URL: cfg.Session.RedisURL, Keys: keys, IdleTimeout: cfg.Session.IdleTimeout})
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Ping(ctx)
}

// StoreLocation is where cfg's session store is, fit to print: the Redis URL with any
// password replaced by "xxxxx", or "embedded".
func StoreLocation(cfg config.Config) string {
	if cfg.Embedded() {
		return "embedded"
	}
	return session.RedactRedisURL(cfg.Session.RedisURL)
}

// DiscoverIdP makes one discovery attempt (metadata and keys) with each relying party New
// would build from cfg (every provider of oidc.providers; an error names the provider).
func DiscoverIdP(ctx context.Context, cfg config.Config) error {
	for _, n := range cfg.OIDC.IdPs() {
		pc := cfg
		pc.OIDC = n.OIDC
		if err := discoverOne(ctx, pc); err != nil {
			if n.Name != "" {
				return fmt.Errorf("provider %q: %w", n.Name, err)
			}
			return err
		}
	}
	return nil
}

func discoverOne(ctx context.Context, cfg config.Config) error {
	ic, err := idpConfig(cfg)
	if err != nil {
		return err
	}
	p, err := idp.New(ic)
	if err != nil {
		return fmt.Errorf("relying party: %w", err)
	}
	return p.Discover(ctx)
}

// SetRedisLogger sends go-redis's own messages (pool dial failures and the like) to l.
// It is process-wide: call it once, before New, as `bff serve` does.
func SetRedisLogger(l *slog.Logger) { session.SetRedisLogger(l) }

// CSRFHeaderName is the anti-forgery header the SPA must send, spelled as configured
// (csrf.headerName, default X-CSRF).
func CSRFHeaderName(cfg config.Config) string {
	if cfg.CSRF.HeaderName == "" {
		return csrf.DefaultHeaderName
	}
	return cfg.CSRF.HeaderName
}

// Client key kinds for NewClientKey.
const (
	ClientKeyRSA     = "rsa"     // RSA 3072, RS256
	ClientKeyEC      = "ec"      // ECDSA P-256, ES256
	ClientKeyEd25519 = "ed25519" // Ed25519, EdDSA
)

// NewClientKey makes a private key for oidc.tokenEndpointAuth private_key_jwt: the PEM
// (PKCS#8) to keep as oidc.clientKeyFile, its kid (the RFC 7638 thumbprint, the default
// of oidc.clientKeyID), and the public JWKS to register at the IdP.
func NewClientKey(kind string) (pemKey []byte, kid string, jwks []byte, err error) {
	var key crypto.Signer
	switch kind {
	case ClientKeyRSA:
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case ClientKeyEC:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ClientKeyEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, "", nil, fmt.Errorf("client key kind %q: use %s, %s or %s", kind, ClientKeyRSA, ClientKeyEC, ClientKeyEd25519)
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("generate %s key: %w", kind, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", nil, fmt.Errorf("encode key: %w", err)
	}
	if kid, err = idp.ClientKeyID(key); err != nil {
		return nil, "", nil, err
	}
	if jwks, err = idp.PublicJWKS(key, kid); err != nil {
		return nil, "", nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), kid, jwks, nil
}

// clientCertLifetime is how long a certificate of NewClientCert is valid: a year, then
// a new key pair and certificate are made and registered.
const clientCertLifetime = 365 * 24 * time.Hour

// NewClientCert makes a self-signed X.509 certificate (PEM) of the client key pemKey
// (what NewClientKey printed), to upload to providers that register client keys as
// certificates (Microsoft Entra ID: "Certificates & secrets") and to set as
// oidc.clientCertFile: CN "tokenward bff client", valid one year from now, signed with
// SHA-256. Self-signed is enough: the provider trusts the uploaded certificate itself,
// not a chain.
func NewClientCert(pemKey []byte, now time.Time) ([]byte, error) {
	key, err := config.ParsePrivateKey(string(pemKey))
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("client certificate: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "tokenward bff client"},
		NotBefore:    now.Add(-5 * time.Minute), // a provider's clock a little behind still accepts it
		NotAfter:     now.Add(clientCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if _, ok := key.(*rsa.PrivateKey); ok {
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
