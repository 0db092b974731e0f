package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/problem"
)

// startDPoPRouteTokens starts a stack with oidc.dpop on and the per-route token routes:
// the OP is behind a routeOP (resource grants, token exchange) behind a dpopProvider
// (which verifies every token request's proof and binds each token it answers, route
// tokens included), and every route, /api/ too, is on one dpopAPI.
func startDPoPRouteTokens(t *testing.T) (*testenv.Env, *dpopProvider, *dpopAPI, *routeOP) {
	t.Helper()
	rop := &routeOP{per: map[string]int{}}
	e, op, api := startDPoPRoutes(t, testenv.Options{WrapOP: rop.wrap}, routeTokenRoutes)
	rop.env = e
	return e, op, api, rop
}

// lastCall is the upstream's last accepted call under prefix, with its token's aud.
func lastCall(t *testing.T, api *dpopAPI, prefix string) (seenCall, any) {
	t.Helper()
	calls := api.calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if strings.HasPrefix(calls[i].path, prefix) {
			_, at, _ := strings.Cut(calls[i].authorization, " ")
			return calls[i], jwtClaims(at)["aud"]
		}
	}
	t.Fatalf("the upstream accepted no call under %s", prefix)
	return seenCall{}, nil
}

// TestDPoPRouteTokensAreBoundToTheSessionKey: with oidc.dpop on, (a) a route with a
// resource gets a token for it from a resource grant that proved the session's key, bound
// to that key, and sent with a proof the upstream verifies (method, URL, ath, cnf.jkt);
// (b) a token-exchange route likewise: the exchange proved the key, its subject token was
// the session's DPoP-bound token, and the exchanged token is bound to the same key; (c)
// the main route keeps the login's token, proven with the same key.
func TestDPoPRouteTokensAreBoundToTheSessionKey(t *testing.T) {
	e, op, api, rop := startDPoPRouteTokens(t)
	e.Login(t, nil, "alice", "/")
	proved, _ := op.snapshot()
	if len(proved) != 1 || proved[0] == "" {
		t.Fatalf("login: token requests proved %q, want one proof", proved)
	}
	key := proved[0]

	// (a) The resource grant carries a proof of the session's key (the dpopProvider
	// refuses a token request without one before routeOP sees it).
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/a/orders", nil), http.StatusOK, "resource route")
	proved, refused := op.snapshot()
	if rop.count(resA) != 1 || len(proved) != 2 || proved[1] != key || len(refused) != 0 {
		t.Fatalf("resource grants %d, token requests proved %q, refused %q; want one grant proving %s", rop.count(resA), proved, refused, key)
	}
	call, aud := lastCall(t, api, "/a/")
	if call.jkt != key || aud != resA || !strings.HasPrefix(call.authorization, "DPoP ") {
		t.Fatalf("resource route: upstream saw key %s, aud %v, scheme %q; want DPoP, %s, %s", call.jkt, aud, call.authorization[:5], key, resA)
	}

	// (b) The exchange presents the session's DPoP-bound token and proves its key.
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/x/orders", nil), http.StatusOK, "exchange route")
	proved, _ = op.snapshot()
	subjects := rop.subjectTokens()
	if rop.count(audOrders) != 1 || len(proved) != 3 || proved[2] != key {
		t.Fatalf("exchanges %d, token requests proved %q; want one exchange proving %s", rop.count(audOrders), proved, key)
	}
	if len(subjects) != 1 || op.keyOf(subjects[0]) != key {
		t.Fatalf("the exchange's subject token is bound to %q, want the session key %s", op.keyOf(subjects[0]), key)
	}
	call, aud = lastCall(t, api, "/x/")
	if call.jkt != key || aud != audOrders {
		t.Fatalf("exchange route: upstream saw key %s, aud %v; want %s, %s", call.jkt, aud, key, audOrders)
	}

	// (c) The main route still sends the login's token, not a route's.
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/me", nil), http.StatusOK, "main route")
	call, aud = lastCall(t, api, "/me")
	if call.jkt != key || aud == resA || aud == audOrders {
		t.Fatalf("main route: upstream saw key %s, aud %v; want the login's token bound to %s", call.jkt, aud, key)
	}
	if got := len(api.calls()); got != 3 {
		t.Fatalf("the upstream accepted %d calls, want 3", got)
	}
}

// TestDPoPRouteTokenBearerAnswerIsRefused: (d) with oidc.dpop on, a provider answering a
// resource grant (or an exchange) with a Bearer token did not bind it: the route is
// refused with 502 token_refused and the upstream is never called with it. The session
// survives with the refresh token that grant rotated: the main route works, and its
// next refresh is no reuse of a spent refresh token (which would revoke the family).
func TestDPoPRouteTokenBearerAnswerIsRefused(t *testing.T) {
	e, op, api, rop := startDPoPRouteTokens(t)
	e.Login(t, nil, "alice", "/")
	op.set(func(p *dpopProvider) { p.bearer = true })

	for _, p := range []string{"/a/orders", "/a/again", "/x/orders"} {
		r := e.Do(t, nil, http.MethodGet, p, nil)
		var pb struct{ Type string }
		testenv.JSON(t, r, &pb)
		if r.StatusCode != http.StatusBadGateway || pb.Type != string(problem.TokenRefused) {
			t.Fatalf("%s with a Bearer answer: %d %q, want 502 %s", p, r.StatusCode, pb.Type, problem.TokenRefused)
		}
	}
	if rop.count(resA) != 1 {
		t.Fatalf("%d resource grants, want 1 (the one answered Bearer, kept until it expires)", rop.count(resA))
	}
	api.set(func(a *dpopAPI) {
		if len(a.accepted) != 0 || len(a.refused) != 0 {
			t.Errorf("the upstream was called: accepted %d, refused %q", len(a.accepted), a.refused)
		}
	})

	// The provider is fixed; the upstream rejects the main token once: the forced refresh
	// redeems the refresh token the Bearer-answered grant rotated.
	op.set(func(p *dpopProvider) { p.bearer = false })
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/me", nil), http.StatusOK, "main route")
	_, at, _ := strings.Cut(api.calls()[0].authorization, " ")
	api.set(func(a *dpopAPI) { a.rejectOnce = at })
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/me", nil), http.StatusOK, "main route after a forced refresh")
	if st := e.OP.Stats(); st.RefreshGrants != 2 || st.RefreshReuseDetected != 0 {
		t.Fatalf("refresh grants %d (want 2: the resource grant and the forced refresh), reuses %d", st.RefreshGrants, st.RefreshReuseDetected)
	}
}
