package refresh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/internal/faults"
	"github.com/tokenward/bff/session"
)

// routeIdP is rotatingIdP plus the route grants: RefreshFor spends a refresh token like
// a refresh (strict rotation, reuse revokes the family) and issues "<resource>#<n>";
// ExchangeToken issues "x:<audience>:<subject>" unless refuse is set.
type routeIdP struct {
	*rotatingIdP
	refuse    error
	resMu     sync.Mutex
	perTarget map[string]int // grants and exchanges per resource / audience
	exchanges atomic.Int32
}

func newRouteIdP(first string) *routeIdP {
	return &routeIdP{rotatingIdP: newRotatingIdP(0, first), perTarget: map[string]int{}}
}

func (p *routeIdP) count(target string) int {
	p.resMu.Lock()
	defer p.resMu.Unlock()
	return p.perTarget[target]
}

func (p *routeIdP) RefreshFor(ctx context.Context, rt, resource string, _ []string) (*idp.Tokens, error) {
	if p.refuse != nil {
		return nil, p.refuse
	}
	toks, _, err := p.Refresh(ctx, rt)
	if err != nil {
		return nil, err
	}
	p.resMu.Lock()
	p.perTarget[resource]++
	toks.AccessToken = fmt.Sprintf("%s#%d", resource, p.perTarget[resource])
	p.resMu.Unlock()
	return toks, nil
}

func (p *routeIdP) ExchangeToken(_ context.Context, subject, audience, _, _ string) (*idp.Tokens, error) {
	p.exchanges.Add(1)
	if p.refuse != nil {
		return nil, p.refuse
	}
	p.resMu.Lock()
	p.perTarget[audience]++
	p.resMu.Unlock()
	return &idp.Tokens{AccessToken: "x:" + audience + ":" + subject, TokenType: "Bearer",
		Expiry: time.Now().Add(time.Hour), Lifetime: time.Hour}, nil
}

var (
	specA  = &credential.TokenSpec{Resource: "https://a.example/"}
	specB  = &credential.TokenSpec{Resource: "https://b.example/", Scopes: []string{"b:read"}}
	specTx = &credential.TokenSpec{Exchange: &credential.ExchangeSpec{Audience: "orders"}}
)

// validSession stores a session whose main token is valid and whose refresh token is rt-0.
func validSession(t *testing.T, st session.Store) (string, *session.Record) {
	t.Helper()
	id, _ := session.NewID()
	now := time.Now()
	rec := &session.Record{Subject: "alice", AccessToken: "at-main", RefreshToken: "rt-0",
		AccessExpiry: now.Add(time.Hour), AccessLifetime: time.Hour, Created: now, AbsoluteExpiry: now.Add(time.Hour)}
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	return id, rec
}

// redisReplicaStores are n stores, each with its own client, on one Redis: the real one
// of BFF_TEST_REDIS_URL when set, else a miniredis. Their locks are cross-replica locks.
func redisReplicaStores(t *testing.T, n int) []session.Store {
	t.Helper()
	addr, via := faults.TestRedis(t)
	keys, err := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]session.Store, n)
	for i := range out {
		st, err := session.NewRedis(t.Context(), session.Options{URL: via(addr), Keys: keys, IdleTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out[i] = st
	}
	return out
}

// stormRig is two replicas on one Redis, a routeIdP with strict rotation and a session
// whose main token is valid.
type stormRig struct {
	stores   []session.Store
	replicas []*Refresher
	idp      *routeIdP
	id       string
	rec      *session.Record
}

func newStormRig(t *testing.T) *stormRig {
	g := &stormRig{stores: redisReplicaStores(t, 2), idp: newRouteIdP("rt-0")}
	g.id, g.rec = validSession(t, g.stores[0])
	for _, st := range g.stores {
		r, _ := replica(t, Config{Store: st, IdP: g.idp})
		g.replicas = append(g.replicas, r)
	}
	return g
}

// storm asks for specOf(i)'s token 200 times at once, alternating replicas, and returns
// a failure for every request that erred or got another token than want(spec).
func (g *stormRig) storm(t *testing.T, specOf func(i int) *credential.TokenSpec, want func(*credential.TokenSpec) string) []error {
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := specOf(i)
			tok, err := g.replicas[i%2].ForRoute(t.Context(), g.id, g.rec, spec, false)
			if err == nil && tok.AccessToken != want(spec) {
				err = fmt.Errorf("request %d got %q for %s", i, tok.AccessToken, spec.Key())
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// TestRouteTokenStormIsOneGrantPerResource: 200 requests over two replicas ask at once
// for the tokens of two resources the session does not hold yet, against a provider
// that revokes the token family on reuse. Each resource is granted exactly once, no
// refresh token is redeemed twice, every request gets its resource's token, and the
// record ends with both tokens, the last rotated refresh token and the main token kept.
func TestRouteTokenStormIsOneGrantPerResource(t *testing.T) {
	g := newStormRig(t)
	f := g.idp
	for _, err := range g.storm(t, func(i int) *credential.TokenSpec { return []*credential.TokenSpec{specA, specB}[(i/2)%2] },
		func(s *credential.TokenSpec) string { return s.Resource + "#1" }) {
		t.Error(err)
	}
	grants, reuse := f.counts()
	if grants != 2 || reuse != 0 || f.count(specA.Resource) != 1 || f.count(specB.Resource) != 1 {
		t.Fatalf("%d grants (a %d, b %d), %d reuses; want one grant per resource and no reuse",
			grants, f.count(specA.Resource), f.count(specB.Resource), reuse)
	}
	got := stored(t, g.stores[1], g.id)
	if got.AccessToken != "at-main" || got.RefreshToken != "rt-2" || len(got.RouteTokens) != 2 || !got.RefreshPendingSince.IsZero() {
		t.Fatalf("stored: main %q rt %q, %d route tokens, mark %v", got.AccessToken, got.RefreshToken, len(got.RouteTokens), got.RefreshPendingSince)
	}
}

// TestMainRefreshKeepsRouteTokens: a refresh of the main token (which copies the record)
// keeps the route tokens, and a route grant keeps the main token.
func TestMainRefreshKeepsRouteTokens(t *testing.T) {
	st := newStore(t)
	f := newRouteIdP("rt-0")
	r, _ := replica(t, Config{Store: st, IdP: f})
	id, rec := validSession(t, st)
	if _, err := r.ForRoute(t.Context(), id, rec, specA, false); err != nil {
		t.Fatal(err)
	}
	cur := stored(t, st, id)
	if cur.AccessToken != "at-main" {
		t.Fatalf("the route grant replaced the main token: %q", cur.AccessToken)
	}
	cur.AccessExpiry = time.Now().Add(-time.Second)
	if err := st.Update(t.Context(), id, cur); err != nil {
		t.Fatal(err)
	}
	next, err := r.Fresh(t.Context(), id, cur, false)
	if err != nil || next.AccessToken == "at-main" {
		t.Fatalf("main refresh: %v, %v", next, err)
	}
	got := stored(t, st, id)
	if got.RouteTokens[specA.Key()].AccessToken != specA.Resource+"#1" {
		t.Fatalf("route tokens after the main refresh: %v", got.RouteTokens)
	}
}

// TestRouteTokenRenewedWithinSkewAndCached: a held token is served without a grant; one
// within the skew is served at once and renewed behind the request.
func TestRouteTokenRenewedWithinSkewAndCached(t *testing.T) {
	st := newStore(t)
	f := newRouteIdP("rt-0")
	clk := newTestClock()
	r, _ := replica(t, Config{Store: st, IdP: f, Now: clk.Now})
	id, rec := validSession(t, st)
	first, err := r.ForRoute(t.Context(), id, rec, specA, false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.ForRoute(t.Context(), id, stored(t, st, id), specA, false)
	if err != nil || again.AccessToken != first.AccessToken || f.count(specA.Resource) != 1 {
		t.Fatalf("cached: %v, %v; %d grants", again, err, f.count(specA.Resource))
	}
	clk.Advance(time.Hour - 10*time.Second) // inside the 30 s skew, still valid
	served, err := r.ForRoute(t.Context(), id, stored(t, st, id), specA, false)
	if err != nil || served.AccessToken != first.AccessToken {
		t.Fatalf("within the skew: %v, %v; want the held token at once", served, err)
	}
	waitFor(t, func() bool { return stored(t, st, id).RouteTokens[specA.Key()].AccessToken == specA.Resource+"#2" })
}

// TestRefusedRouteTokenKeepsTheSession: invalid_target keeps the session and its refresh
// token (the mark is cleared), and is ErrRouteTokenRefused.
func TestRefusedRouteTokenKeepsTheSession(t *testing.T) {
	st := newStore(t)
	f := newRouteIdP("rt-0")
	f.refuse = fmt.Errorf("%w: invalid_target", idp.ErrTargetRefused)
	r, log := replica(t, Config{Store: st, IdP: f})
	id, rec := validSession(t, st)
	for _, spec := range []*credential.TokenSpec{specA, specTx} {
		_, err := r.ForRoute(t.Context(), id, rec, spec, false)
		if !errors.Is(err, ErrRouteTokenRefused) {
			t.Fatalf("%s: err %v, want ErrRouteTokenRefused", spec.Key(), err)
		}
	}
	got := stored(t, st, id)
	if got.RefreshToken != "rt-0" || !got.RefreshPendingSince.IsZero() || len(got.RouteTokens) != 0 {
		t.Fatalf("stored after refusals: rt %q, mark %v, %d route tokens", got.RefreshToken, got.RefreshPendingSince, len(got.RouteTokens))
	}
	if log.count(OutcomeRefused) != 2 {
		t.Errorf("%d refused outcomes, want 2", log.count(OutcomeRefused))
	}
}

// TestDeadRefreshTokenOnAResourceGrantEndsTheSession: invalid_grant on the resource grant
// means the family is gone: the session ends as for a refresh.
func TestDeadRefreshTokenOnAResourceGrantEndsTheSession(t *testing.T) {
	st := newStore(t)
	f := newRouteIdP("rt-other") // rt-0 is unknown to the provider
	r, _ := replica(t, Config{Store: st, IdP: f})
	id, rec := validSession(t, st)
	if _, err := r.ForRoute(t.Context(), id, rec, specA, false); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("err %v, want ErrSessionEnded", err)
	}
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session survived: %v", err)
	}
}

// TestExchangeStormIsOneExchange: 200 requests over two replicas for an exchanged token:
// one exchange of the main token, cached in the record; the refresh token is not spent.
func TestExchangeStormIsOneExchange(t *testing.T) {
	g := newStormRig(t)
	failed := g.storm(t, func(int) *credential.TokenSpec { return specTx },
		func(*credential.TokenSpec) string { return "x:orders:at-main" })
	if len(failed) != 0 || g.idp.exchanges.Load() != 1 {
		t.Fatalf("%d failed requests (%v), %d exchanges; want 0 and 1", len(failed), failed, g.idp.exchanges.Load())
	}
	if grants, _ := g.idp.counts(); grants != 0 || stored(t, g.stores[1], g.id).RefreshToken != "rt-0" {
		t.Fatalf("the exchange spent the refresh token (%d grants)", grants)
	}
}

// TestStaleCopyDoesNotRegrant: a replica whose request read the record before another
// replica obtained the route's token re-reads it under the lock and takes that token:
// no second grant (under strict rotation, it would also redeem with a spent refresh token
// had the record not been re-read).
func TestStaleCopyDoesNotRegrant(t *testing.T) {
	stores := redisReplicaStores(t, 2)
	f := newRouteIdP("rt-0")
	id, rec := validSession(t, stores[0])
	r1, _ := replica(t, Config{Store: stores[0], IdP: f})
	r2, _ := replica(t, Config{Store: stores[1], IdP: f})
	first, err := r1.ForRoute(t.Context(), id, rec, specA, false)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r2.ForRoute(t.Context(), id, rec, specA, false) // rec: the stale copy
	if err != nil || second.AccessToken != first.AccessToken || f.count(specA.Resource) != 1 {
		t.Fatalf("got %q, %v; %d grants; want the first replica's token and one grant", second.AccessToken, err, f.count(specA.Resource))
	}
}

// TestForcedRouteTokenRenewal: after an upstream 401 the route's token is renewed once;
// a second forced renewal within the cooldown is declined (each one spends the refresh
// token), and a forced call with a token the record has already replaced takes that one.
func TestForcedRouteTokenRenewal(t *testing.T) {
	st := newStore(t)
	f := newRouteIdP("rt-0")
	r, _ := replica(t, Config{Store: st, IdP: f})
	id, rec := validSession(t, st)
	first, err := r.ForRoute(t.Context(), id, rec, specA, false)
	if err != nil {
		t.Fatal(err)
	}
	withFirst := stored(t, st, id)
	second, err := r.ForRoute(t.Context(), id, withFirst, specA, true)
	if err != nil || second.AccessToken == first.AccessToken || f.count(specA.Resource) != 2 {
		t.Fatalf("forced: %q, %v; %d grants; want a new token", second.AccessToken, err, f.count(specA.Resource))
	}
	if _, err := r.ForRoute(t.Context(), id, stored(t, st, id), specA, true); !errors.Is(err, ErrForcedRefreshCooldown) {
		t.Fatalf("second forced renewal: %v, want ErrForcedRefreshCooldown", err)
	}
	// withFirst (no cooldown in it) still names the first token: the record's newer one
	// is the answer, without a grant.
	got, err := r.ForRoute(t.Context(), id, withFirst, specA, true)
	if err != nil || got.AccessToken != second.AccessToken || f.count(specA.Resource) != 2 {
		t.Fatalf("forced with a replaced token: %q, %v; %d grants; want the record's token and no grant",
			got.AccessToken, err, f.count(specA.Resource))
	}
}

// TestExchangeUsesAFreshSubjectToken: an expired main token is refreshed first, and the
// refreshed one is exchanged, never the expired one.
func TestExchangeUsesAFreshSubjectToken(t *testing.T) {
	st := newStore(t)
	f := newRouteIdP("rt-0")
	r, _ := replica(t, Config{Store: st, IdP: f})
	id, rec := validSession(t, st)
	rec.AccessExpiry = time.Now().Add(-time.Second)
	if err := st.Update(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.ForRoute(t.Context(), id, rec, specTx, false)
	if err != nil || got.AccessToken != "x:orders:at-1" {
		t.Fatalf("got %q, %v; want the exchange of the refreshed token at-1", got.AccessToken, err)
	}
	if s := stored(t, st, id); s.AccessToken != "at-1" || s.RouteTokens[specTx.Key()].AccessToken != got.AccessToken {
		t.Fatalf("stored main %q, route %v", s.AccessToken, s.RouteTokens)
	}
}
