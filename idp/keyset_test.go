package idp

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"

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

// jumpClock is a virtual clock for the fetch budget: time moves only when the budget
// makes a fetch wait, and then by exactly that wait, so tests need no sleeps and can
// compare the fetches made with the time that passed.
type jumpClock struct {
	mu      sync.Mutex
	start   time.Time
	now     time.Time
	waiting int // times a fetch waited for the budget
}

func newJumpClock() *jumpClock {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &jumpClock{start: t, now: t}
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waiting++
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *jumpClock) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now.Sub(c.start)
}

func (c *jumpClock) waits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting
}

// gateClock is a fetch-budget clock that stands still: a fetch that must wait for the
// budget announces it on waiting and waits until the test ends.
type gateClock struct {
	now     time.Time
	waiting chan struct{}
	release chan struct{}
}

func newGateClock(t *testing.T) *gateClock {
	c := &gateClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waiting: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(c.release) })
	return c
}

func (c *gateClock) Now() time.Time { return c.now }

func (c *gateClock) After(time.Duration) <-chan time.Time {
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	ch := make(chan time.Time, 1)
	go func() {
		<-c.release
		ch <- c.now
	}()
	return ch
}

// await receives from ch, failing the test if nothing comes within a generous bound
// (a failure bound only: a broken key set must fail the test, not hang it).
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// pacedProvider is a discovered Provider whose fetch budget runs on clock.
func (op *testOP) pacedProvider(clock fetchClock) *Provider {
	op.t.Helper()
	p, err := New(op.testConfig(&logbuf.Buffer{}))
	if err != nil {
		op.t.Fatalf("New: %v", err)
	}
	p.fetchClock = clock
	if err := p.Discover(context.Background()); err != nil {
		op.t.Fatalf("Discover: %v", err)
	}
	return p
}

// rotate publishes a new key (keeping the old one) and returns it with its kid; the
// caller signs with it. The JWKS changes at that instant: no pre-publication.
func (op *testOP) rotate(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	next, kid := newRSAKey(t), "key-"+randomID(t)
	op.set(func(op *testOP) {
		op.jwksKeys = append(op.jwksKeys, jose.JSONWebKey{Key: next.Public(), KeyID: kid, Algorithm: "RS256", Use: "sig"})
	})
	return next, kid
}

// withinBudget fails unless the JWKS fetches made so far (discovery's included) fit the
// documented bound for the virtual time that passed: burst + elapsed/interval.
func withinBudget(t *testing.T, op *testOP, clock *jumpClock) {
	t.Helper()
	fetches, elapsed := op.count("jwks"), clock.elapsed()
	if bound := JWKSFetchBurst + int(elapsed/JWKSFetchInterval); fetches > bound {
		t.Fatalf("%d JWKS fetches in %s, bound %d", fetches, elapsed, bound)
	}
}

// (a) Right after start the keys are an instant old: a token signed with a key rotated
// in just after discovery still verifies at once, logout and ID token alike.
func TestKeyRotationRightAfterStartIsHonouredAtOnce(t *testing.T) {
	op := newTestOP(t)
	clock := newJumpClock()
	p := op.pacedProvider(clock)
	next, kid := op.rotate(t)
	raw := signJWT(t, next, kid, jose.RS256, "logout+jwt", op.goodLogoutClaims())
	if _, err := p.VerifyLogoutToken(context.Background(), raw); err != nil {
		t.Fatalf("logout token signed by the rotated-in key: %v", err)
	}
	next2, kid2 := op.rotate(t)
	op.set(func(op *testOP) {
		op.idToken = func() string { return signJWT(op.t, next2, kid2, jose.RS256, "", op.goodIDClaimsLocked()) }
	})
	ar := op.loginAs(t)
	if _, _, err := p.Exchange(context.Background(), testCode, ar); err != nil {
		t.Fatalf("ID token signed by the rotated-in key: %v", err)
	}
	if got := op.count("jwks"); got != 3 {
		t.Fatalf("%d JWKS fetches, want 3 (discovery, one per rotation)", got)
	}
	// The old key still works and costs no fetch.
	if _, err := p.VerifyLogoutToken(context.Background(), op.sign(op.goodLogoutClaims())); err != nil {
		t.Fatalf("token signed by the old key: %v", err)
	}
	if got := op.count("jwks"); got != 3 {
		t.Error("a known kid triggered a JWKS fetch")
	}
	withinBudget(t, op, clock)
}

// (b) A fetch a moment ago (here made for a forged token) does not delay a genuine
// rotation: the old rule "one fetch per 10 s, else refuse" refused this token.
func TestKeyRotationRightAfterAnotherFetchIsHonouredAtOnce(t *testing.T) {
	op := newTestOP(t)
	clock := newJumpClock()
	p := op.pacedProvider(clock)
	mustRefuseAll(t, p, forgedLogoutTokens(t, op, 1))
	if got := op.count("jwks"); got != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (discovery, the forged kid)", got)
	}
	next, kid := op.rotate(t)
	raw := signJWT(t, next, kid, jose.RS256, "logout+jwt", op.goodLogoutClaims())
	if _, err := p.VerifyLogoutToken(context.Background(), raw); err != nil {
		t.Fatalf("token signed by the key rotated in right after a fetch: %v", err)
	}
	withinBudget(t, op, clock)
}

// (c) A flood of 1,000 forged logout tokens with random kids (ten waves of 100
// concurrent ones, each wave arriving after the last was answered) drains the fetch
// budget; the IdP still sees no more fetches than the documented bound, and the
// genuine token signed with a key rotated in right after the flood verifies.
func TestForgedKidFloodCannotMakeARotatedKeyFail(t *testing.T) {
	op := newTestOP(t)
	clock := newJumpClock()
	p := op.pacedProvider(clock)
	for range 10 {
		mustRefuseAll(t, p, forgedLogoutTokens(t, op, 100))
		withinBudget(t, op, clock)
	}
	if clock.waits() == 0 {
		t.Fatal("the flood never drained the fetch budget: the test proves nothing")
	}
	next, kid := op.rotate(t)
	raw := signJWT(t, next, kid, jose.RS256, "logout+jwt", op.goodLogoutClaims())
	if _, err := p.VerifyLogoutToken(context.Background(), raw); err != nil {
		t.Fatalf("genuine token after the flood: %v", err)
	}
	withinBudget(t, op, clock)
	t.Logf("%d JWKS fetches in %s of budget time", op.count("jwks"), clock.elapsed())
}

// (d) Concurrent callers with unknown kids share one fetch. A fetch already under way
// when they arrive may predate their tokens, so they wait for it and then share the
// next one: 50 callers, one fetch made for them.
func TestConcurrentUnknownKidsShareOneFetch(t *testing.T) {
	op := newTestOP(t)
	p := op.pacedProvider(newJumpClock())
	base := op.count("jwks")
	entered := make(chan struct{}, 2)
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	opens := []func(){sync.OnceFunc(func() { close(gates[0]) }), sync.OnceFunc(func() { close(gates[1]) })}
	t.Cleanup(func() { opens[0](); opens[1]() }) // before the server closes, if the test fails
	var served atomic.Int32
	op.set(func(op *testOP) {
		keys := op.jwksKeys
		op.jwks = func(w http.ResponseWriter, r *http.Request) {
			if n := served.Add(1); n <= 2 {
				entered <- struct{}{}
				<-gates[n-1] // hold the fetch so every caller joins it
			}
			writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: keys})
		}
	})
	ks := p.state.Load().keys
	joined := make(chan struct{}, 200)
	ks.joined = func() { joined <- struct{}{} }

	first := make(chan error, 1)
	go func() { first <- verifyAll(p, forgedLogoutTokens(t, op, 1)) }()
	await(t, entered, "the first fetch") // under way: it started before the 50 below arrive
	await(t, joined, "the first caller")
	done := make(chan error, 1)
	tokens := forgedLogoutTokens(t, op, 50)
	go func() { done <- verifyAll(p, tokens) }()
	for range 50 {
		await(t, joined, "a caller joining the fetch under way")
	}
	opens[0]()
	if err := await(t, first, "the first caller's answer"); err != nil {
		t.Fatal(err)
	}
	await(t, entered, "the second fetch")
	for range 50 {
		await(t, joined, "a caller joining the fetch that started after it")
	}
	opens[1]()
	if err := await(t, done, "the 50 answers"); err != nil {
		t.Fatal(err)
	}
	if got := op.count("jwks") - base; got != 2 {
		t.Fatalf("%d JWKS fetches, want 2: the one under way, one shared by all 50", got)
	}
}

// A fetch under way when a genuine token arrives may have left before its key was
// published: the token waits for the next fetch instead of being judged by that one.
func TestKeyRotationDuringAFetchUnderWayIsHonoured(t *testing.T) {
	op := newTestOP(t)
	p := op.pacedProvider(newJumpClock())
	entered, gate := make(chan struct{}), make(chan struct{})
	open := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(open) // before the server closes, if the test fails
	var served atomic.Int32
	op.set(func(op *testOP) {
		op.jwks = func(w http.ResponseWriter, r *http.Request) {
			op.mu.Lock()
			keys := op.jwksKeys // the JWKS as it is when the request arrives
			op.mu.Unlock()
			if served.Add(1) == 1 {
				close(entered)
				<-gate
			}
			writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: keys})
		}
	})
	ks := p.state.Load().keys
	joined := make(chan struct{}, 10)
	ks.joined = func() { joined <- struct{}{} }

	forged := make(chan error, 1)
	go func() { forged <- verifyAll(p, forgedLogoutTokens(t, op, 1)) }()
	await(t, entered, "the fetch under way")
	await(t, joined, "the forged token's caller")
	next, kid := op.rotate(t)
	raw := signJWT(t, next, kid, jose.RS256, "logout+jwt", op.goodLogoutClaims())
	genuine := make(chan error, 1)
	go func() {
		_, err := p.VerifyLogoutToken(context.Background(), raw)
		genuine <- err
	}()
	await(t, joined, "the genuine token's caller") // waits on the fetch under way
	open()
	if err := await(t, forged, "the forged token's answer"); err != nil {
		t.Fatal(err)
	}
	if err := await(t, genuine, "the genuine token's answer"); err != nil {
		t.Fatalf("token signed by a key published while a fetch was under way: %v", err)
	}
}

// (e) A caller whose ctx ends while it waits for the fetch budget returns at once,
// with an error wrapping ErrUnavailable and the ctx's error.
func TestWaitingForTheFetchBudgetEndsWithTheCallersContext(t *testing.T) {
	op := newTestOP(t)
	clock := newGateClock(t)
	p := op.pacedProvider(clock)
	for range JWKSFetchBurst - 1 { // one at a time: each needs a fetch of its own
		mustRefuseAll(t, p, forgedLogoutTokens(t, op, 1))
	}
	if got := op.count("jwks"); got != JWKSFetchBurst {
		t.Fatalf("%d JWKS fetches, want %d: the budget is spent", got, JWKSFetchBurst)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	raw := forgedLogoutTokens(t, op, 1)[0]
	go func() {
		_, err := p.VerifyLogoutToken(ctx, raw)
		done <- err
	}()
	await(t, clock.waiting, "the fetch to wait for the budget")
	cancel()
	err := await(t, done, "the answer after cancel")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

// A refused ID token costs one fetch, not two: go-oidc flattens the key set's error,
// so the Provider asks again, and the second answer comes from the first's verdict.
func TestRefusedUnknownKidIDTokenCostsOneFetch(t *testing.T) {
	op := newTestOP(t)
	p := op.pacedProvider(newJumpClock())
	forger := newRSAKey(t)
	op.set(func(op *testOP) {
		op.idToken = func() string { return signJWT(op.t, forger, "kid-forged", jose.RS256, "", op.goodIDClaimsLocked()) }
	})
	before := op.count("jwks")
	ar := op.loginAs(t)
	if _, _, err := p.Exchange(context.Background(), testCode, ar); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Exchange err = %v, want ErrInvalidToken", err)
	}
	if got := op.count("jwks") - before; got != 1 {
		t.Fatalf("%d JWKS fetches for one refused ID token, want 1", got)
	}
}

// A known kid with a bad signature is refused without a refetch (no amplification).
func TestKnownKidBadSignatureDoesNotRefetch(t *testing.T) {
	op := newTestOP(t)
	p := op.pacedProvider(newJumpClock())
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
	p := op.pacedProvider(newJumpClock())
	next := newRSAKey(t)
	op.set(func(op *testOP) {
		op.jwks = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }
	})
	raw := signJWT(t, next, "key-2", jose.RS256, "", op.goodLogoutClaims())
	for i := range 2 { // an outage is no verdict: each attempt asks the IdP again
		before := op.count("jwks")
		_, err := p.VerifyLogoutToken(context.Background(), raw)
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			t.Fatalf("attempt %d: err = %v, want ErrUnavailable only", i, err)
		}
		if op.count("jwks") != before+1 {
			t.Fatalf("attempt %d: no JWKS fetch", i)
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

// verifyWith picks the keys that may have signed a token: its kid's, or keys the JWKS
// publishes without a kid; matched (a named key exists, a fetch cannot help) only for
// the kid's own key.
func TestVerifyWithKeySelection(t *testing.T) {
	good, other := newRSAKey(t), newRSAKey(t)
	jwk := func(k *rsa.PrivateKey, kid, alg string) jose.JSONWebKey {
		return jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}
	}
	claims := map[string]any{"sub": "x"}
	tests := []struct {
		name        string
		tokenKid    string
		keys        []jose.JSONWebKey
		wantOK      bool
		wantMatched bool
		wantErr     error
	}{
		{"kid matches", "a", []jose.JSONWebKey{jwk(other, "b", ""), jwk(good, "a", "RS256")}, true, false, nil},
		{"kid unknown", "z", []jose.JSONWebKey{jwk(good, "a", "")}, false, false, errUnknownKey},
		{"kid known, wrong key", "a", []jose.JSONWebKey{jwk(other, "a", "")}, false, true, errBadSignature},
		{"kid-less key signs a token with a kid", "a", []jose.JSONWebKey{jwk(good, "", "")}, true, false, nil},
		{"kid-less key fails: a fetch may help", "a", []jose.JSONWebKey{jwk(other, "", "")}, false, false, errBadSignature},
		{"no kid tries every key", "", []jose.JSONWebKey{jwk(other, "b", ""), jwk(good, "a", "")}, true, false, nil},
		{"no kid, no key fits: a fetch may help", "", []jose.JSONWebKey{jwk(other, "b", "")}, false, false, errBadSignature},
		{"alg of the key differs", "a", []jose.JSONWebKey{jwk(good, "a", "PS256")}, false, false, errUnknownKey},
		{"empty key set", "a", nil, false, false, errUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jws, err := jose.ParseSignedCompact(signJWT(t, good, tc.tokenKid, jose.RS256, "", claims), []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			payload, matched, err := verifyWith(jws, tc.keys)
			if (payload != nil) != tc.wantOK || matched != tc.wantMatched || !errors.Is(err, tc.wantErr) {
				t.Fatalf("payload %v, matched %v, err %v; want ok %v, matched %v, err %v",
					payload != nil, matched, err, tc.wantOK, tc.wantMatched, tc.wantErr)
			}
		})
	}
}
