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
	"encoding/pem"
	"fmt"
	"log/slog"

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

// DiscoverIdP makes one discovery attempt (metadata and keys) with the relying party New
// would build from cfg.
func DiscoverIdP(ctx context.Context, cfg config.Config) error {
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
