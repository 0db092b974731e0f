package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey wraps every ParseKeys failure. Its messages name the key by its index
// in the list, never by its value.
var ErrInvalidKey = errors.New("session: invalid session key")

// KeySize is the length in bytes of one session key (before base64).
const KeySize = 32

// keyIDSize is the length of the public key id written in front of sealed records.
const keyIDSize = 4

// HKDF info labels: one per derived key, so no two uses ever share key material.
const (
	labelCookieHash  = "tokenward/bff session v1: cookie hash key"
	labelCookieBlock = "tokenward/bff session v1: cookie block key"
	labelSeal        = "tokenward/bff session v1: at-rest sealing key"
	labelIndex       = "tokenward/bff session v1: index name key"
	labelKeyID       = "tokenward/bff session v1: key id"
)

// KeyRing holds the session keys, newest first, and the keys derived from each: the
// newest seals records and encodes cookies, every key opens and decodes (rotation).
//
// A KeyRing is immutable after ParseKeys and safe for concurrent use.
type KeyRing struct {
	keys []ringKey
}

// ringKey is everything derived from one configured key. The configured key itself
// is not kept.
type ringKey struct {
	id          [keyIDSize]byte
	cookieHash  []byte      // HMAC-SHA256 key of the cookie codec
	cookieBlock []byte      // AES-256 key of the cookie codec
	indexKey    []byte      // HMAC key naming the sid/sub index sets
	aead        cipher.AEAD // AES-256-GCM, random 96-bit nonces, seals records at rest
}

// ParseKeys decodes the configured keys, newest first. Each one MUST be the standard
// base64 (with padding; surrounding white space is ignored) of exactly 32 random
// bytes, e.g. from NewKey or `bff keygen`. Duplicate keys are refused. Errors wrap
// ErrInvalidKey and say which index is bad, never the key.
func ParseKeys(b64 []string) (*KeyRing, error) {
	if len(b64) == 0 {
		return nil, fmt.Errorf("%w: no keys configured", ErrInvalidKey)
	}
	ring := &KeyRing{keys: make([]ringKey, 0, len(b64))}
	for i, s := range b64 {
		k, err := deriveKey(s)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrInvalidKey, i, err)
		}
		for j, prev := range ring.keys {
			if prev.id == k.id {
				return nil, fmt.Errorf("%w: key %d repeats key %d", ErrInvalidKey, i, j)
			}
		}
		ring.keys = append(ring.keys, k)
	}
	return ring, nil
}

// errKeyEncoding and errKeyLength are the reasons ParseKeys gives; they carry no key
// material (the base64 error would carry an offset only, but is not needed).
var (
	errKeyEncoding = errors.New("not standard base64")
	errKeyLength   = fmt.Errorf("not %d bytes", KeySize)
)

// deriveKey decodes one configured key and derives its keys with HKDF-SHA256 (one
// info label per use).
func deriveKey(s string) (ringKey, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return ringKey{}, errKeyEncoding
	}
	if len(raw) != KeySize {
		return ringKey{}, errKeyLength
	}
	derive := func(label string, n int) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		b, err = hkdf.Key(sha256.New, raw, nil, label, n)
		return b
	}
	k := ringKey{
		cookieHash:  derive(labelCookieHash, KeySize),
		cookieBlock: derive(labelCookieBlock, KeySize),
		indexKey:    derive(labelIndex, KeySize),
	}
	sealKey, id := derive(labelSeal, KeySize), derive(labelKeyID, keyIDSize)
	if err != nil {
		return ringKey{}, fmt.Errorf("derive keys: %w", err)
	}
	copy(k.id[:], id)
	if k.aead, err = newSealingAEAD(sealKey); err != nil {
		return ringKey{}, err
	}
	return k, nil
}

// newSealingAEAD returns AES-256-GCM with random nonces that it prepends itself.
// The AEAD is stateless after creation and safe for concurrent use.
func newSealingAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	return aead, nil
}

// KeyIDs returns the public ids of the keys, newest first, as hex: safe to log, and
// what sealed records carry to name the key that opens them.
func (r *KeyRing) KeyIDs() []string {
	if r == nil {
		return nil
	}
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// newest returns the key that seals and encodes.
func (r *KeyRing) newest() (*ringKey, error) {
	if r == nil || len(r.keys) == 0 {
		return nil, fmt.Errorf("%w: empty key ring", ErrInvalidKey)
	}
	return &r.keys[0], nil
}

// NewKey returns a fresh random session key in the form ParseKeys accepts (what
// `bff keygen` prints).
func NewKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: new key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
