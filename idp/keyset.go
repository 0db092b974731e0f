package idp

import (
	"context"
	"crypto/sha256"
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
	"golang.org/x/time/rate"
)

// The JWKS fetch budget. An unknown key id needs a fetch, and so does every forged
// token with a random one, so fetches are paced by a token bucket: JWKSFetchBurst at
// once, then one per JWKSFetchInterval. In any window of length W a key set makes at
// most JWKSFetchBurst + W/JWKSFetchInterval fetches, the one made by discovery
// included: at most 15 in any minute, 12 a minute under a sustained flood (per
// Provider, that is per replica). The interval is also the longest a genuine token
// waits for its fetch when forged ones drained the bucket just before.
const (
	JWKSFetchBurst    = 3
	JWKSFetchInterval = 5 * time.Second
)

// errUnknownKey: no key matches the token, even in a JWKS fetched after it arrived.
var errUnknownKey = errors.New("no signing key matches the token's key id and algorithm")

// errBadSignature: the token's signature does not verify with the matching key(s).
var errBadSignature = errors.New("signature does not verify")

// keySet is the oidc.KeySet the Provider gives go-oidc (ID tokens) and uses itself for
// logout tokens: one key set for both. Safe for concurrent use.
//
// It caches the provider's JWKS and verifies with it. A token whose key id is not in
// the cache (or without a key id, that no cached key verifies) is checked again against
// a JWKS fetched AFTER the token arrived: a provider publishes a key before it signs
// with it, so such a fetch holds the key of every genuine token, and a rotation is
// honoured on the first token that uses the new key, whatever came before (start,
// another fetch a moment ago, a flood of forged tokens). There is no "too soon,
// refused" answer: when the budget (JWKSFetchBurst, JWKSFetchInterval) is spent, the
// caller waits for the next fetch it allows, so an attacker's tokens can delay a
// genuine one by at most JWKSFetchInterval but never make it fail. Concurrent callers
// share one fetch (singleflight), which runs on a context no single caller can cancel;
// each caller waits on its own ctx. A caller waits for at most two fetches (one already
// under way when it arrived, then its own), each at most JWKSFetchInterval for the
// budget plus Config.Timeout for the request.
//
// A key id present in the cache whose signature fails is refused without a fetch, and
// so is a token that was already refused after a fetch made for it, while no later
// fetch has started (go-oidc flattens errors, so the Provider asks twice about a
// refused ID token).
type keySet struct {
	url     string
	client  *http.Client
	algs    []jose.SignatureAlgorithm
	clock   fetchClock
	budget  *rate.Limiter
	timeout time.Duration
	logger  *slog.Logger
	group   singleflight.Group
	joined  func() // tests only: called when a caller starts waiting on a shared fetch

	mu      sync.RWMutex
	keys    []jose.JSONWebKey // last good key set
	started uint64            // fetches started so far; a fetch's number is its sequence
	last    verdict           // the newest token refused after a fetch made for it
}

// verdict remembers the outcome for a token that needed a fetch (by digest, never the
// token), valid while no later fetch has started.
type verdict struct {
	sum [sha256.Size]byte
	seq uint64
	err error
}

// fetchResult is what one shared fetch yields to every caller waiting on it.
type fetchResult struct {
	seq  uint64 // the fetch's number: it started after every caller that saw started < seq
	keys []jose.JSONWebKey
	err  error
}

// fetchClock is the time the fetch budget runs on: real time in production. It is not
// Config.Now, which tests freeze or move for token checks; keySet tests substitute a
// virtual clock.
type fetchClock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

var _ oidc.KeySet = (*keySet)(nil)

func newKeySet(url string, client *http.Client, algs []jose.SignatureAlgorithm, cfg Config, clock fetchClock) *keySet {
	if clock == nil {
		clock = realClock{}
	}
	return &keySet{
		url: url, client: client, algs: algs, clock: clock, timeout: cfg.Timeout, logger: cfg.Logger,
		budget: rate.NewLimiter(rate.Every(JWKSFetchInterval), JWKSFetchBurst),
	}
}

// prime does the first fetch (during discovery) and fails if it does.
func (ks *keySet) prime(ctx context.Context) error {
	res, err := ks.fetchAfter(ctx, 0)
	if err != nil {
		return err
	}
	return res.err
}

// VerifySignature implements oidc.KeySet: see verifyJWS.
func (ks *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, _, err := ks.verifyJWS(ctx, jwt)
	return payload, err
}

// verifyJWS parses the compact JWS (only the provider's allowed algorithms: never none
// or HS*) and verifies it with the cached keys, or else with a JWKS fetched after the
// call began (see keySet). It returns the payload and the (now authenticated) header.
// Errors wrap ErrUnavailable when the keys could not be fetched or ctx ended while
// waiting for them; else they describe the failure, never the token.
func (ks *keySet) verifyJWS(ctx context.Context, jwt string) ([]byte, jose.Header, error) {
	jws, err := jose.ParseSignedCompact(jwt, ks.algs)
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("malformed JWS or algorithm not allowed: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, jose.Header{}, errors.New("exactly one signature required")
	}
	hdr := jws.Signatures[0].Header
	sum := sha256.Sum256([]byte(jwt))
	ks.mu.RLock()
	keys, seen, last := ks.keys, ks.started, ks.last
	ks.mu.RUnlock()
	payload, matched, err := verifyWith(jws, keys)
	if err == nil || matched {
		return payload, hdr, err
	}
	if last.sum == sum && last.seq == seen {
		return nil, hdr, last.err // judged against the newest fetch already
	}
	res, err := ks.fetchAfter(ctx, seen)
	if err != nil {
		return nil, hdr, err
	}
	if res.err == nil {
		payload, _, res.err = verifyWith(jws, res.keys)
	}
	if res.err != nil && !errors.Is(res.err, ErrUnavailable) {
		ks.remember(verdict{sum: sum, seq: res.seq, err: res.err}) // an outage is no verdict
	}
	return payload, hdr, res.err
}

// remember keeps v unless a later fetch has started meanwhile.
func (ks *keySet) remember(v verdict) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if v.seq == ks.started {
		ks.last = v
	}
}

// verifyWith tries the keys that may have signed the token: those of its kid and alg,
// and keys the JWKS publishes without a kid (RFC 7515 §4.1.4: a kid is a hint; such a
// key may sign any token). matched reports that a key with the token's (non-empty) kid
// exists, so a fetch would not help.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) (payload []byte, matched bool, err error) {
	hdr := jws.Signatures[0].Header
	tried := false
	for i := range keys {
		k := &keys[i]
		if hdr.KeyID != "" && k.KeyID != "" && k.KeyID != hdr.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != hdr.Algorithm {
			continue
		}
		tried = true
		matched = matched || (hdr.KeyID != "" && k.KeyID == hdr.KeyID)
		if payload, err := jws.Verify(k); err == nil {
			return payload, false, nil
		}
	}
	if !tried {
		return nil, false, errUnknownKey
	}
	return nil, matched, errBadSignature
}

// fetchAfter returns the outcome of a fetch that started after the caller saw seen
// fetches started. Concurrent callers share one fetch, which runs on a context no
// single caller can cancel; each caller waits on its own ctx. A fetch already under way
// may have started before the caller: then the caller waits for the next one, which
// starts after the shared one ended, so this loops at most twice. The error is only
// ctx's (wrapping ErrUnavailable); the fetch's own error is in the result.
func (ks *keySet) fetchAfter(ctx context.Context, seen uint64) (fetchResult, error) {
	shared := context.WithoutCancel(ctx)
	for {
		ch := ks.group.DoChan("jwks", func() (any, error) { return ks.pacedFetch(shared), nil })
		if ks.joined != nil {
			ks.joined()
		}
		select {
		case <-ctx.Done():
			return fetchResult{}, fmt.Errorf("jwks: %w: waiting for the key set: %w", ErrUnavailable, ctx.Err())
		case res := <-ch:
			if r := res.Val.(fetchResult); r.seq > seen {
				return r, nil
			}
		}
	}
}

// pacedFetch waits for the budget to allow a fetch (at most JWKSFetchInterval), then
// fetches and caches the JWKS. singleflight runs one at a time, so fetches never
// overlap and their numbers are in the order they started.
func (ks *keySet) pacedFetch(ctx context.Context) fetchResult {
	now := ks.clock.Now()
	if wait := ks.budget.ReserveN(now, 1).DelayFrom(now); wait > 0 {
		<-ks.clock.After(wait)
	}
	ks.mu.Lock()
	ks.started++
	seq := ks.started
	ks.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, ks.timeout)
	defer cancel()
	keys, err := ks.fetch(ctx)
	if err != nil {
		ks.logger.Warn("idp: JWKS fetch failed", "error", err.Error())
		return fetchResult{seq: seq, err: err}
	}
	ks.mu.Lock()
	ks.keys = keys
	ks.mu.Unlock()
	ks.logger.Debug("idp: JWKS fetched", "keys", len(keys))
	return fetchResult{seq: seq, keys: keys}
}

// fetch GETs and parses the JWKS with the bounded client.
func (ks *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	req.Header.Set("Cache-Control", "no-cache") // a rotation must not be hidden by a cache on the way
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
