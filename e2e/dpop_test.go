package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/dpop"
	"github.com/tokenward/bff/internal/testenv"
)

// dpopProvider puts the in-process OP (zitadel's op, which has no DPoP) behind what a
// DPoP-capable provider adds (RFC 9449 §5): it advertises ES256 proofs, verifies the
// proof of every token request (its htu is the token endpoint, no ath), demands its nonce
// when it has one (400 use_dpop_nonce), answers token_type DPoP, and remembers which key
// each access token is bound to (the cnf.jkt a JWT access token would carry).
type dpopProvider struct {
	verifier *dpop.Verifier
	tr       tokenRewriter

	mu      sync.Mutex
	nonce   string            // demanded at the token endpoint; "" none
	bearer  bool              // answer token_type Bearer: a provider ignoring DPoP
	bound   map[string]string // access token -> the thumbprint it is bound to
	proved  []string          // the thumbprint of each accepted token request
	refused []string          // why each token request was refused
}

func newDPoPProvider() *dpopProvider {
	p := &dpopProvider{verifier: dpop.NewVerifier(nil, 0), bound: map[string]string{}}
	p.tr.editFor = p.bind
	return p
}

func (p *dpopProvider) wrap(next http.Handler) http.Handler {
	tokens := p.tr.wrap(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			p.discovery(next, w, r)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token"):
			if p.checkProof(w, r) {
				tokens.ServeHTTP(w, r)
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// discovery adds dpop_signing_alg_values_supported to the OP's document.
func (p *dpopProvider) discovery(next http.Handler, w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		http.Error(w, "bad discovery", http.StatusBadGateway)
		return
	}
	doc["dpop_signing_alg_values_supported"] = []string{"ES256", "RS256"}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// checkProof verifies the token request's proof, answering the refusal itself.
func (p *dpopProvider) checkProof(w http.ResponseWriter, r *http.Request) bool {
	p.mu.Lock()
	nonce := p.nonce
	p.mu.Unlock()
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
	proof, err := p.verifier.Verify(r.Header.Get("DPoP"), dpop.Check{Method: r.Method, URL: u, Nonce: nonce})
	if err != nil {
		p.mu.Lock()
		p.refused = append(p.refused, err.Error())
		p.mu.Unlock()
		code := "invalid_dpop_proof"
		if errors.Is(err, dpop.ErrUseNonce) {
			code = "use_dpop_nonce"
			w.Header().Set("DPoP-Nonce", nonce)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
		return false
	}
	r.Header.Set("X-Test-DPoP-JKT", proof.JKT) // for bind, on this request only
	return true
}

// bind makes a successful token answer DPoP-bound to the request's proven key.
func (p *dpopProvider) bind(r *http.Request, resp map[string]any) {
	jkt := r.Header.Get("X-Test-DPoP-JKT")
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, _ := resp["access_token"].(string); at != "" {
		p.bound[at] = jkt
	}
	p.proved = append(p.proved, jkt)
	if !p.bearer {
		resp["token_type"] = "DPoP"
	}
}

func (p *dpopProvider) set(f func(p *dpopProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *dpopProvider) keyOf(accessToken string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bound[accessToken]
}

func (p *dpopProvider) snapshot() (proved, refused []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.proved...), append([]string(nil), p.refused...)
}

// dpopAPI is an upstream protecting its API with DPoP-bound tokens (RFC 9449 §7): every
// request must carry "Authorization: DPoP <token>" of a token the provider bound, and a
// proof for this request (method, its own URL), the token (ath) and the bound key
// (cnf.jkt), never seen before, with its nonce when it demands one. It can also reject
// one token once (as an API does with an expired or revoked token).
type dpopAPI struct {
	srv      *httptest.Server
	op       *dpopProvider
	verifier *dpop.Verifier

	mu         sync.Mutex
	nonce      string // demanded; "" none
	rejectOnce string // an access token to answer 401 invalid_token once
	accepted   []seenCall
	challenged int // use_dpop_nonce answers
	refused    []string
}

// seenCall is one accepted request: what a thief on the path could copy.
type seenCall struct {
	method, path, authorization, proof, jkt string
}

func newDPoPAPI(t *testing.T, op *dpopProvider) *dpopAPI {
	a := &dpopAPI{op: op, verifier: dpop.NewVerifier(nil, 0)}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *dpopAPI) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	scheme, at, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	jkt := a.op.keyOf(at)
	a.mu.Lock()
	nonce, reject := a.nonce, a.rejectOnce == at
	if reject {
		a.rejectOnce = ""
	}
	a.mu.Unlock()
	if scheme != "DPoP" || jkt == "" || reject {
		a.refuse(w, "invalid_token", "", "token not DPoP-bound or rejected")
		return
	}
	self, _ := url.Parse(a.srv.URL + r.URL.EscapedPath()) // its own URL, as RFC 9449 §4.3 says
	_, err := a.verifier.Verify(r.Header.Get("DPoP"), dpop.Check{Method: r.Method, URL: self, AccessToken: at, JKT: jkt, Nonce: nonce})
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		a.refuse(w, "use_dpop_nonce", nonce, err.Error())
		return
	case err != nil:
		a.refuse(w, "invalid_dpop_proof", "", err.Error())
		return
	}
	a.mu.Lock()
	a.accepted = append(a.accepted, seenCall{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("DPoP"), jkt})
	a.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func (a *dpopAPI) refuse(w http.ResponseWriter, code, nonce, why string) {
	a.mu.Lock()
	a.refused = append(a.refused, why)
	if nonce != "" {
		a.challenged++
		w.Header().Set("DPoP-Nonce", nonce)
	}
	a.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `DPoP algs="ES256", error="`+code+`"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func (a *dpopAPI) set(f func(a *dpopAPI)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func (a *dpopAPI) calls() []seenCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seenCall(nil), a.accepted...)
}

// startDPoP starts a stack with oidc.dpop on, the OP behind a dpopProvider and the /api/
// route on a dpopAPI.
func startDPoP(t *testing.T, o testenv.Options) (*testenv.Env, *dpopProvider, *dpopAPI) {
	t.Helper()
	return startDPoPRoutes(t, o, nil)
}

// startDPoPRoutes is startDPoP with more routes on the dpopAPI (routes(its URL); nil:
// none). An o.WrapOP of the caller's sits behind the dpopProvider, which sees each token
// request first (its proof) and binds whatever token the inner wrapper answers.
func startDPoPRoutes(t *testing.T, o testenv.Options, routes func(upstream string) []config.Route) (*testenv.Env, *dpopProvider, *dpopAPI) {
	t.Helper()
	op := newDPoPProvider()
	api := newDPoPAPI(t, op)
	if inner := o.WrapOP; inner != nil {
		o.WrapOP = func(next http.Handler) http.Handler { return op.wrap(inner(next)) }
	} else {
		o.WrapOP = op.wrap
	}
	configure := o.Configure
	o.Configure = func(c *config.Config) {
		if configure != nil {
			configure(c)
		}
		c.OIDC.DPoP = true
		c.Routes = []config.Route{{Path: "/api/", Upstream: api.srv.URL, StripPrefix: "/api"}}
		if routes != nil {
			c.Routes = append(c.Routes, routes(api.srv.URL)...)
		}
	}
	return testenv.Start(t, o), op, api
}

func mustStatus(t *testing.T, resp *http.Response, want int, what string) {
	t.Helper()
	body := testenv.ReadAll(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, body, want)
	}
}

// TestDPoPLoginBindsTheTokensAndEveryCallProvesTheKey: with oidc.dpop on, the code
// exchange proves the session's key (after the provider's nonce challenge, retried once),
// the access token is bound to it, and each API call carries a fresh proof the upstream
// verifies (method, its URL, ath, cnf.jkt, a new jti); a proof copied off the wire is
// refused when replayed, even with its token; an upstream's nonce challenge is answered
// by one re-send with the nonce, without a refresh, and later calls carry it at once.
func TestDPoPLoginBindsTheTokensAndEveryCallProvesTheKey(t *testing.T) {
	e, op, api := startDPoP(t, testenv.Options{})
	op.set(func(p *dpopProvider) { p.nonce = "op-nonce-1" })
	e.Login(t, nil, "alice", "/")

	proved, refused := op.snapshot()
	if len(proved) != 1 || proved[0] == "" || len(refused) != 1 || !strings.Contains(refused[0], "nonce") {
		t.Fatalf("code exchange: proved %q, refused %q; want one nonce challenge then one proof", proved, refused)
	}
	key := proved[0]
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/orders?page=2", nil), http.StatusOK, "GET")
	mustStatus(t, e.Do(t, nil, http.MethodPost, "/api/orders", strings.NewReader(`{"n":1}`)), http.StatusOK, "POST")
	calls := api.calls()
	if len(calls) != 2 || calls[0].jkt != key || calls[1].jkt != key || calls[0].proof == calls[1].proof {
		t.Fatalf("upstream accepted %+v; want two calls, each with its own proof of the session key %s", calls, key)
	}

	// A thief who copied a call's headers replays them: the proof was good once.
	replay, _ := http.NewRequest(calls[1].method, api.srv.URL+calls[1].path, bytes.NewReader([]byte(`{"n":1}`)))
	replay.Header.Set("Authorization", calls[1].authorization)
	replay.Header.Set("DPoP", calls[1].proof)
	resp, err := http.DefaultClient.Do(replay)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, resp, http.StatusUnauthorized, "replayed proof")

	// The upstream starts demanding a nonce: one challenge, one re-send, no refresh.
	grants := e.OP.Stats().RefreshGrants
	api.set(func(a *dpopAPI) { a.nonce = "api-nonce-1" })
	mustStatus(t, e.Do(t, nil, http.MethodPut, "/api/orders/7", strings.NewReader(`{"n":2}`)), http.StatusOK, "PUT after the nonce challenge")
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/orders", nil), http.StatusOK, "GET with the remembered nonce")
	api.set(func(a *dpopAPI) {
		if a.challenged != 1 {
			t.Errorf("%d nonce challenges, want 1 (the nonce is remembered)", a.challenged)
		}
	})
	if got := e.OP.Stats().RefreshGrants; got != grants {
		t.Fatalf("a nonce challenge refreshed the token (%d refresh grants, want %d)", got, grants)
	}
	if n := len(api.calls()); n != 4 {
		t.Fatalf("upstream accepted %d calls, want 4", n)
	}
}

// TestDPoPRefreshKeepsTheSessionKey: when the upstream rejects the token, the forced
// refresh proves the same key at the token endpoint, the new token is bound to it, and
// the retried call proves it too.
func TestDPoPRefreshKeepsTheSessionKey(t *testing.T) {
	e, op, api := startDPoP(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/a", nil), http.StatusOK, "first call")
	first := api.calls()[0]
	_, at, _ := strings.Cut(first.authorization, " ")
	api.set(func(a *dpopAPI) { a.rejectOnce = at })

	mustStatus(t, e.Do(t, nil, http.MethodGet, "/api/b", nil), http.StatusOK, "call after the upstream rejected the token")
	if got := e.OP.Stats().RefreshGrants; got != 1 {
		t.Fatalf("%d refresh grants, want 1", got)
	}
	proved, _ := op.snapshot()
	if len(proved) != 2 || proved[1] != first.jkt {
		t.Fatalf("token requests proved %q, want the login's key %s twice", proved, first.jkt)
	}
	calls := api.calls()
	last := calls[len(calls)-1]
	if last.authorization == first.authorization || last.jkt != first.jkt {
		t.Fatalf("after the refresh: same token %v, key %s; want a new token bound to %s",
			last.authorization == first.authorization, last.jkt, first.jkt)
	}
}

// TestDPoPOnRefusesAProviderIgnoringIt: with oidc.dpop on, a provider answering
// token_type Bearer did not bind the token: the login fails with a page naming the
// provider setting, no session is made and the upstream sees nothing.
func TestDPoPOnRefusesAProviderIgnoringIt(t *testing.T) {
	e, op, api := startDPoP(t, testenv.Options{})
	op.set(func(p *dpopProvider) { p.bearer = true })
	c := e.NewClient(t)
	resp, err := c.Get(e.Authorize(t, c, "alice", "/").String())
	if err != nil {
		t.Fatal(err)
	}
	page := testenv.ReadAll(t, resp)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "enable DPoP-bound access tokens") {
		t.Fatalf("callback: %d, page %s", resp.StatusCode, page)
	}
	if testenv.FindCookie(resp, "__Host-bff") != nil {
		t.Fatal("a session cookie was set")
	}
	mustStatus(t, e.Do(t, c, http.MethodGet, "/api/x", nil), http.StatusUnauthorized, "API call")
	if n := len(api.calls()); n != 0 {
		t.Fatalf("the upstream accepted %d calls", n)
	}
}

// TestDPoPForwardAuthBindsTheProofToTheForwardedRequest: forward-auth answers for a
// request it does not make: the proof it hands the ingress is bound to the original
// request the ingress names (X-Forwarded-Method/-Proto/-Host/-Uri), which the API behind
// the ingress verifies against its public URL; without those headers there is nothing to
// bind to, and the answer is 400, never a proof for the subrequest.
func TestDPoPForwardAuthBindsTheProofToTheForwardedRequest(t *testing.T) {
	e, op, _ := startDPoP(t, testenv.Options{Configure: testenv.TrustLoopback})
	e.Login(t, nil, "alice", "/")
	resp := e.AuthRequest(t, e.Client, "/bff/auth", map[string]string{
		"X-Forwarded-Method": "POST", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.example", "X-Forwarded-Uri": "/orders/7?draft=1",
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("forward-auth: %d", resp.StatusCode)
	}
	scheme, at, _ := strings.Cut(resp.Header.Get("Authorization"), " ")
	jkt := op.keyOf(at)
	if scheme != "DPoP" || jkt == "" {
		t.Fatalf("forward-auth Authorization scheme %q, bound %v", scheme, jkt != "")
	}
	public, _ := url.Parse("https://app.example/orders/7")
	check := dpop.Check{Method: http.MethodPost, URL: public, AccessToken: at, JKT: jkt}
	if _, err := dpop.NewVerifier(nil, 0).Verify(resp.Header.Get("DPoP"), check); err != nil {
		t.Fatalf("the proof does not bind the forwarded request: %v", err)
	}
	if r := e.AuthRequest(t, e.Client, "/bff/auth", nil); r.StatusCode != http.StatusBadRequest || r.Header.Get("DPoP") != "" {
		t.Fatalf("forward-auth without the forwarded request: %d, proof %q; want 400 and none", r.StatusCode, r.Header.Get("DPoP"))
	}
	smuggled := map[string]string{
		"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "evil.example/app.example", "X-Forwarded-Uri": "/orders/7",
	}
	if r := e.AuthRequest(t, e.Client, "/bff/auth", smuggled); r.StatusCode != http.StatusBadRequest || r.Header.Get("DPoP") != "" {
		t.Fatalf("forward-auth with a host that is no host[:port]: %d, proof given %v; want 400 and none", r.StatusCode, r.Header.Get("DPoP") != "")
	}
}
