package demoop

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// signingKey is the OP's one RSA-2048 key; its kid is the RFC 7638 thumbprint.
// It is immutable after newSigningKey and safe for concurrent use.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

var _ op.SigningKey = (*signingKey)(nil)

func newSigningKey() (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key thumbprint: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), key: key}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

func (k *signingKey) public() op.Key { return publicKey{k} }

// sign returns the compact JWS of claims with the given typ header.
func (k *signingKey) sign(claims any, typ jose.ContentType) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType(typ),
	)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// publicKey is the JWKS entry of a signingKey.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

// keyRing is the OP's signing key and the keys its JWKS publishes: the current one and,
// after a rotation, the one before it (so that tokens it signed still verify). Safe for
// concurrent use.
type keyRing struct {
	mu       sync.RWMutex
	current  *signingKey
	previous *signingKey // nil until the first rotation
}

func newKeyRing(k *signingKey) *keyRing { return &keyRing{current: k} }

// signing is the key new tokens are signed with.
func (r *keyRing) signing() *signingKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// published is the JWKS: the current key first.
func (r *keyRing) published() []op.Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := []op.Key{r.current.public()}
	if r.previous != nil {
		keys = append(keys, r.previous.public())
	}
	return keys
}

// rotate makes next the signing key, published from the same instant on.
func (r *keyRing) rotate(next *signingKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.previous, r.current = r.current, next
}

// RotateSigningKey generates a new signing key and signs every later token with it. The
// JWKS publishes it from the same instant (with the previous key, so that tokens signed
// before still verify): the harshest rotation a relying party can meet, with no
// pre-publication. It returns the new key id.
func (o *OP) RotateSigningKey() (string, error) {
	next, err := newSigningKey()
	if err != nil {
		return "", fmt.Errorf("demoop: rotate signing key: %w", err)
	}
	o.keys.rotate(next)
	return next.id, nil
}
