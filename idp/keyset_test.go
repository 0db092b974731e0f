package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// forgedLogoutTokens signs n logout tokens with a key the OP never published, each
// with a random kid, as a flood of forged back-channel logouts would.
func forgedLogoutTokens(t *testing.T, op *testOP, n int) []string {
	t.Helper()
	forger := newRSAKey(t)
	out := make([]string, n)
	for i := range out {
		out[i] = signJWT(t, forger, "kid-"+randomID(t), jose.RS256, "logout+jwt", op.goodLogoutClaims())
	}
	return out
}

// verifyAll verifies tokens concurrently; it returns an error unless every one is
// refused with ErrInvalidToken. Safe to call from any goroutine.
func verifyAll(p *Provider, tokens []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(tokens))
	for i, raw := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.VerifyLogoutToken(context.Background(), raw)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrInvalidToken) {
			return fmt.Errorf("forged token %d: err = %v, want ErrInvalidToken", i, err)
		}
	}
	return nil
}

func mustRefuseAll(t *testing.T, p *Provider, tokens []string) {
	t.Helper()
	if err := verifyAll(p, tokens); err != nil {
		t.Fatal(err)
	}
}

// A flood of forged tokens with unknown kids must not become a flood on the IdP:
// at most one JWKS refetch per MinJWKSRefetchInterval.
func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	base := op.count("jwks") // the fetch made by discovery

	mustRefuseAll(t, p, forgedLogoutTokens(t, op, 100))
	if got := op.count("jwks") - base; got != 0 {
		t.Fatalf("flood right after discovery: %d JWKS fetches, want 0", got)
	}

	op.clock.Advance(MinJWKSRefetchInterval + time.Second)
	mustRefuseAll(t, p, forgedLogoutTokens(t, op, 100))
	if got := op.count("jwks") - base; got != 1 {
		t.Fatalf("flood after the interval: %d JWKS fetches, want exactly 1", got)
	}

	op.clock.Advance(MinJWKSRefetchInterval / 2)
	mustRefuseAll(t, p, forgedLogoutTokens(t, op, 100))
	if got := op.count("jwks") - base; got != 1 {
		t.Fatalf("flood within the interval: %d JWKS fetches, want still 1", got)
	}
}

// Concurrent callers with an unknown kid share one fetch (singleflight).
func TestConcurrentUnknownKidsShareOneFetch(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	base := op.count("jwks")
	release := make(chan struct{})
	op.set(func(op *testOP) {
		keys := op.jwksKeys
		op.jwks = func(w http.ResponseWriter, r *http.Request) {
			<-release // hold the fetch so every caller joins it
			writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: keys})
		}
	})
	op.clock.Advance(MinJWKSRefetchInterval + time.Second)
	tokens := forgedLogoutTokens(t, op, 50)
	done := make(chan error)
	go func() { done <- verifyAll(p, tokens) }()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := op.count("jwks") - base; got != 1 {
		t.Fatalf("%d JWKS fetches, want 1 shared by all callers", got)
	}
}

func TestKeyRotationIsPickedUpAfterTheInterval(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	next := newRSAKey(t)
	op.set(func(op *testOP) {
		op.jwksKeys = append(op.jwksKeys, jose.JSONWebKey{Key: next.Public(), KeyID: "key-2", Algorithm: "RS256", Use: "sig"})
	})
	raw := signJWT(t, next, "key-2", jose.RS256, "logout+jwt", op.goodLogoutClaims())

	op.clock.Advance(MinJWKSRefetchInterval)
	if _, err := p.VerifyLogoutToken(context.Background(), raw); err != nil {
		t.Fatalf("token signed by the rotated-in key: %v", err)
	}
	// The old key still works and costs no fetch.
	before := op.count("jwks")
	if _, err := p.VerifyLogoutToken(context.Background(), op.sign(op.goodLogoutClaims())); err != nil {
		t.Fatalf("token signed by the old key: %v", err)
	}
	if op.count("jwks") != before {
		t.Error("a known kid must not trigger a JWKS fetch")
	}
}

// A known kid with a bad signature is refused without a refetch (no amplification).
func TestKnownKidBadSignatureDoesNotRefetch(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	op.clock.Advance(time.Hour)
	before := op.count("jwks")
	forged := signJWT(t, newRSAKey(t), op.kid, jose.RS256, "", op.goodLogoutClaims())
	if _, err := p.VerifyLogoutToken(context.Background(), forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	if op.count("jwks") != before {
		t.Error("a bad signature under a known kid triggered a JWKS fetch")
	}
}

func TestJWKSOutageIsUnavailableNotInvalid(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	next := newRSAKey(t)
	op.set(func(op *testOP) {
		op.jwks = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }
	})
	op.clock.Advance(MinJWKSRefetchInterval)
	raw := signJWT(t, next, "key-2", jose.RS256, "", op.goodLogoutClaims())
	for i := range 2 { // the fetch, then the cooldown that remembers it failed
		_, err := p.VerifyLogoutToken(context.Background(), raw)
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			t.Fatalf("attempt %d: err = %v, want ErrUnavailable only", i, err)
		}
	}
	// The ID token path tells the same story (go-oidc flattens the key set's error).
	op.set(func(op *testOP) {
		op.idToken = func() string { return signJWT(op.t, next, "key-2", jose.RS256, "", op.goodIDClaimsLocked()) }
	})
	ar := op.loginAs(t)
	if _, _, err := p.Exchange(context.Background(), testCode, ar); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Exchange err = %v, want ErrUnavailable", err)
	}
}
