package dpop

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

	"github.com/go-jose/go-jose/v4"
)

// Algorithms a Key can be made for. ES256 is the default: small proofs, fast to sign,
// and the one algorithm every DPoP-capable provider lists.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// Supported lists the algorithms NewKey accepts, default first.
func Supported() []string { return []string{ES256, EdDSA, RS256} }

// rsaBits is the size of a generated RSA key.
const rsaBits = 2048

// ErrKey: a key that cannot be made or read (unknown algorithm, malformed JWK, a public
// key where a private one is needed).
var ErrKey = errors.New("dpop: bad key")

// Key is one session's DPoP key pair. It is immutable and safe for concurrent use. Its
// private half is a secret: keep it sealed (the session record is), never log it; String
// and the fmt verbs show only the thumbprint.
type Key struct {
	signer crypto.Signer
	alg    jose.SignatureAlgorithm
	public jose.JSONWebKey
	jkt    string
	jws    jose.Signer // made once: a jose.Signer is safe for concurrent Sign calls
}

// NewKey makes a fresh key pair for alg (one of Supported; "" is ES256).
func NewKey(alg string) (*Key, error) {
	var (
		s   crypto.Signer
		err error
	)
	switch alg {
	case "", ES256:
		alg = ES256
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, s, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		s, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("%w: algorithm %q (use one of %v)", ErrKey, alg, Supported())
	}
	if err != nil {
		return nil, fmt.Errorf("dpop: generating a %s key: %w", alg, err)
	}
	return newKey(s, jose.SignatureAlgorithm(alg))
}

func newKey(s crypto.Signer, alg jose.SignatureAlgorithm) (*Key, error) {
	pub := jose.JSONWebKey{Key: s.Public(), Algorithm: string(alg)}
	jkt, err := Thumbprint(&pub)
	if err != nil {
		return nil, err
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(proofType)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: s}, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop: signer: %w", err)
	}
	return &Key{signer: s, alg: alg, public: pub, jkt: jkt, jws: signer}, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of a public JWK, base64url: the value of
// cnf.jkt in a DPoP-bound token and of dpop_jkt in an authorization request.
func Thumbprint(k *jose.JSONWebKey) (string, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: thumbprint: %w", ErrKey, err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Algorithm is the key's JWS algorithm.
func (k *Key) Algorithm() string { return string(k.alg) }

// JKT is the key's RFC 7638 thumbprint (cnf.jkt).
func (k *Key) JKT() string { return k.jkt }

// MarshalPrivate is the private JWK, for the sealed session record ONLY.
func (k *Key) MarshalPrivate() ([]byte, error) {
	b, err := json.Marshal(jose.JSONWebKey{Key: k.signer, Algorithm: string(k.alg)})
	if err != nil {
		return nil, fmt.Errorf("dpop: encoding the key: %w", err)
	}
	return b, nil
}

// ParseKey reads a private JWK written by MarshalPrivate.
func ParseKey(b []byte) (*Key, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(b, &jwk); err != nil {
		return nil, fmt.Errorf("%w: not a JWK", ErrKey)
	}
	s, ok := jwk.Key.(crypto.Signer)
	if !ok || jwk.IsPublic() {
		return nil, fmt.Errorf("%w: not a private key", ErrKey)
	}
	switch jwk.Algorithm {
	case ES256, EdDSA, RS256:
	default:
		return nil, fmt.Errorf("%w: algorithm %q", ErrKey, jwk.Algorithm)
	}
	return newKey(s, jose.SignatureAlgorithm(jwk.Algorithm))
}

// String names the key by its (public) thumbprint only.
func (k *Key) String() string { return "dpop.Key{jkt=" + k.jkt + "}" }

// GoString is String, for %#v.
func (k *Key) GoString() string { return k.String() }

// Format prints String for every verb, so no verb reaches the private key.
func (k *Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }
