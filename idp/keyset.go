package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// MinJWKSRefetchInterval is the least time between two JWKS fetches. A token whose key
// id is unknown triggers a refetch only if the last fetch is older than this; otherwise
// it is refused at once. A flood of forged tokens therefore costs the IdP at most one
// request per interval, and a legitimate key rotation is picked up within it.
const MinJWKSRefetchInterval = 10 * time.Second

// errUnknownKey: no key matches the token (after a refetch, or none was due yet).
var errUnknownKey = errors.New("no signing key matches the token's key id and algorithm")

// errBadSignature: the token's signature does not verify with the matching key(s).
var errBadSignature = errors.New("signature does not verify")

// keySet is the oidc.KeySet the Provider gives go-oidc (and uses for logout tokens):
// the provider's JWKS, cached, refetched for an unknown key id at most once per
// MinJWKSRefetchInterval, with concurrent callers sharing one fetch. Safe for
// concurrent use.
type keySet struct {
	url     string
	client  *http.Client
	algs    []jose.SignatureAlgorithm
	now     func() time.Time
	timeout time.Duration
	logger  *slog.Logger
	group   singleflight.Group

	mu        sync.RWMutex
	keys      []jose.JSONWebKey // last good key set
	attempted bool              // a fetch was ever attempted
	fetchedAt time.Time         // start of the last attempt, successful or not
	fetchErr  error             // the last attempt's error, nil if it succeeded
}

var _ oidc.KeySet = (*keySet)(nil)

func newKeySet(url string, client *http.Client, algs []jose.SignatureAlgorithm, cfg Config) *keySet {
	return &keySet{url: url, client: client, algs: algs, now: cfg.Now, timeout: cfg.Timeout, logger: cfg.Logger}
}

// prime does the first fetch (during discovery) and fails if it does.
func (ks *keySet) prime(ctx context.Context) error {
	_, err := ks.refetch(ctx)
	return err
}

// VerifySignature implements oidc.KeySet: see verifyJWS.
func (ks *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, _, err := ks.verifyJWS(ctx, jwt)
	return payload, err
}

// verifyJWS parses the compact JWS (only the provider's allowed algorithms: never none
// or HS*) and verifies it with the cached key of its kid, refetching the JWKS
// (rate-limited) when the kid is unknown. A known kid whose signature fails is refused
// without a refetch. It returns the payload and the (now authenticated) header. Errors
// wrap ErrUnavailable when the keys could not be fetched; else they describe the
// failure, never the token.
func (ks *keySet) verifyJWS(ctx context.Context, jwt string) ([]byte, jose.Header, error) {
	jws, err := jose.ParseSignedCompact(jwt, ks.algs)
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("malformed JWS or algorithm not allowed: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, jose.Header{}, errors.New("exactly one signature required")
	}
	hdr := jws.Signatures[0].Header
	payload, matched, err := verifyWith(jws, ks.cached())
	if err == nil || matched {
		return payload, hdr, err
	}
	keys, err := ks.refetch(ctx)
	if err != nil {
		return nil, hdr, err
	}
	payload, _, err = verifyWith(jws, keys)
	return payload, hdr, err
}

// verifyWith tries the keys that fit the token's kid and alg. matched reports that a
// key with the token's (non-empty) kid exists, so a refetch would not help.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) (payload []byte, matched bool, err error) {
	hdr := jws.Signatures[0].Header
	tried := false
	for i := range keys {
		k := &keys[i]
		if hdr.KeyID != "" && k.KeyID != hdr.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != hdr.Algorithm {
			continue
		}
		tried = true
		if payload, err := jws.Verify(k); err == nil {
			return payload, false, nil
		}
	}
	if !tried {
		return nil, false, errUnknownKey
	}
	return nil, hdr.KeyID != "", errBadSignature
}

func (ks *keySet) cached() []jose.JSONWebKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys
}

// due reports whether a fetch may start now; when not, err says why the unknown key
// cannot be resolved (wrapping ErrUnavailable if the last fetch failed).
func (ks *keySet) due() (ok bool, err error) {
	if !ks.attempted || ks.now().Sub(ks.fetchedAt) >= MinJWKSRefetchInterval {
		return true, nil
	}
	if ks.fetchErr != nil {
		return false, fmt.Errorf("jwks: %w: last fetch failed, next attempt within %s: %w",
			ErrUnavailable, MinJWKSRefetchInterval, ks.fetchErr)
	}
	return false, errUnknownKey
}

// refetch returns fresh keys, fetching at most once per MinJWKSRefetchInterval. All
// concurrent callers share one fetch, which runs on a context no single caller can
// cancel (bounded by the timeout); each caller waits on its own ctx.
func (ks *keySet) refetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ks.mu.RLock()
	_, err := ks.due()
	ks.mu.RUnlock()
	if err != nil {
		return nil, err // fast path: no goroutine, no singleflight
	}
	shared := context.WithoutCancel(ctx)
	ch := ks.group.DoChan("jwks", func() (any, error) { return ks.fetchIfDue(shared) })
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("jwks: %w: %w", ErrUnavailable, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]jose.JSONWebKey), nil
	}
}

// fetchIfDue re-checks the interval (singleflight runs one call at a time, so this
// check and the reservation below are never raced by another fetch) and fetches.
func (ks *keySet) fetchIfDue(ctx context.Context) ([]jose.JSONWebKey, error) {
	ks.mu.Lock()
	if ok, err := ks.due(); !ok {
		ks.mu.Unlock()
		return nil, err
	}
	ks.attempted, ks.fetchedAt = true, ks.now()
	ks.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, ks.timeout)
	defer cancel()
	keys, err := ks.fetch(ctx)

	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.fetchErr = err
	if err != nil {
		ks.logger.Warn("idp: JWKS fetch failed", "error", err.Error())
		return nil, err
	}
	ks.keys = keys
	ks.logger.Debug("idp: JWKS fetched", "keys", len(keys))
	return keys, nil
}

// fetch GETs and parses the JWKS with the bounded client.
func (ks *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError("jwks", resp)
	}
	body, err := readBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w: %w", ErrUnavailable, err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w: %w", ErrUnavailable, err)
	}
	return keys, nil
}

// parseJWKS keeps the public signing keys go-jose understands. Keys for encryption,
// symmetric keys and keys of unknown type or algorithm are skipped (RFC 7517 §5: ignore
// what is not understood), and private key material is reduced to its public half.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errors.New("not a JSON Web Key Set")
	}
	var keys []jose.JSONWebKey
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && !slices.Contains(supportedAlgs, k.Algorithm) {
			continue
		}
		if !k.Valid() {
			continue // symmetric (oct) or incomplete key
		}
		if !k.IsPublic() {
			pub := k.Public()
			if !pub.Valid() {
				continue
			}
			k = pub
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable public signing key")
	}
	return keys, nil
}
