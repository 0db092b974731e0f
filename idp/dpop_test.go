package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokenward/bff/dpop"
	"github.com/tokenward/bff/internal/logbuf"
)

// dpopTokenEndpoint is a token endpoint that binds tokens with DPoP: it verifies every
// proof (no ath, htu its own URL), demands nonce after a use_dpop_nonce answer, and
// records the thumbprint each request proved.
type dpopTokenEndpoint struct {
	op       *testOP
	verifier *dpop.Verifier
	nonce    string // demanded when set
	tokenTyp string // token_type answered; "DPoP" unless set

	mu   sync.Mutex
	jkts []string // per request: the proof's thumbprint, "" when refused
}

func newDPoPTokenEndpoint(op *testOP, nonce string) *dpopTokenEndpoint {
	e := &dpopTokenEndpoint{op: op, verifier: dpop.NewVerifier(op.clock.Now, 0), nonce: nonce, tokenTyp: "DPoP"}
	op.set(func(op *testOP) {
		op.meta["dpop_signing_alg_values_supported"] = []string{"ES256", "RS256"}
		op.token = e.serve
	})
	return e
}

func (e *dpopTokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	u, _ := url.Parse(e.op.issuer + "/token")
	proof, err := e.verifier.Verify(r.Header.Get("DPoP"), dpop.Check{Method: r.Method, URL: u, Nonce: e.nonce})
	e.mu.Lock()
	if err != nil {
		e.jkts = append(e.jkts, "")
	} else {
		e.jkts = append(e.jkts, proof.JKT)
	}
	e.mu.Unlock()
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		w.Header().Set("DPoP-Nonce", e.nonce)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "use_dpop_nonce"})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_dpop_proof"})
		return
	}
	resp := e.op.tokenResponse()
	resp["token_type"] = e.tokenTyp
	writeJSON(w, http.StatusOK, resp)
}

func (e *dpopTokenEndpoint) proved() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.jkts...)
}

func dpopOn(c *Config) { c.DPoP = true }

func dpopLogin(t *testing.T, op *testOP, p *Provider) (AuthRequest, *dpop.Key) {
	t.Helper()
	ar := op.loginAs(t)
	raw, err := p.NewDPoPKey()
	if err != nil || raw == "" {
		t.Fatalf("NewDPoPKey = %q, %v", raw, err)
	}
	ar.DPoPKey = raw
	key, err := dpop.ParseKey([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return ar, key
}

// TestDPoPBindsEveryTokenRequestToTheSessionKey: with DPoP on, the authorize URL names the
// key (dpop_jkt), the code exchange proves it, answering the provider's nonce challenge
// with one retry, and a refresh under WithDPoPKey proves the same key with the remembered
// nonce at once; both answers are DPoP tokens carrying the key for the record.
func TestDPoPBindsEveryTokenRequestToTheSessionKey(t *testing.T) {
	op := newTestOP(t)
	ep := newDPoPTokenEndpoint(op, "nonce-1")
	p, _ := op.newProvider(dpopOn)
	ar, key := dpopLogin(t, op, p)

	authURL, err := p.AuthCodeURL(ar, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(authURL); u.Query().Get("dpop_jkt") != key.JKT() {
		t.Fatalf("authorize URL %s lacks dpop_jkt=%s", authURL, key.JKT())
	}
	tok, _, err := p.Exchange(context.Background(), testCode, ar)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.TokenType != "DPoP" || tok.DPoPKey != ar.DPoPKey {
		t.Fatalf("tokens: type %q, key kept %v", tok.TokenType, tok.DPoPKey == ar.DPoPKey)
	}
	if got := ep.proved(); len(got) != 2 || got[0] != "" || got[1] != key.JKT() {
		t.Fatalf("code exchange: proofs %q, want a nonce challenge then the session key", got)
	}
	tok, _, err = p.Refresh(WithDPoPKey(context.Background(), ar.DPoPKey), "refresh-token-1")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if got := ep.proved(); len(got) != 3 || got[2] != key.JKT() {
		t.Fatalf("refresh: proofs %q, want one more, with the remembered nonce and the same key", got)
	}
	if tok.TokenType != "DPoP" || tok.DPoPKey != ar.DPoPKey {
		t.Fatalf("refreshed tokens: type %q, key kept %v", tok.TokenType, tok.DPoPKey == ar.DPoPKey)
	}
}

// TestDPoPNonceChallengeIsRetriedOnce: a provider that keeps asking for a new nonce gets
// two requests, never a third.
func TestDPoPNonceChallengeIsRetriedOnce(t *testing.T) {
	op := newTestOP(t)
	newDPoPTokenEndpoint(op, "")
	op.set(func(op *testOP) {
		n := 0
		op.token = func(w http.ResponseWriter, _ *http.Request) {
			n++
			w.Header().Set("DPoP-Nonce", "nonce-"+strings.Repeat("x", n))
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "use_dpop_nonce"})
		}
	})
	p, _ := op.newProvider(dpopOn)
	ar, _ := dpopLogin(t, op, p)
	if _, _, err := p.Exchange(context.Background(), testCode, ar); err == nil {
		t.Fatal("Exchange succeeded")
	}
	if n := op.count("token"); n != 2 {
		t.Fatalf("%d token requests, want 2 (one nonce retry)", n)
	}
}

// TestDPoPRefusesUnboundAnswersAndKeylessSessions: with DPoP on, a Bearer answer is the
// provider ignoring the proof (refused, naming the provider setting); a refresh without
// the session's key is refused before any request.
func TestDPoPRefusesUnboundAnswersAndKeylessSessions(t *testing.T) {
	op := newTestOP(t)
	ep := newDPoPTokenEndpoint(op, "")
	ep.tokenTyp = "Bearer"
	p, _ := op.newProvider(dpopOn)
	ar, _ := dpopLogin(t, op, p)
	_, _, err := p.Exchange(context.Background(), testCode, ar)
	if !errors.Is(err, ErrNotDPoPBound) || !strings.Contains(err.Error(), "DPoP-bound access tokens") {
		t.Fatalf("Bearer answer with DPoP on: %v", err)
	}
	before := op.count("token")
	if _, _, err := p.Refresh(context.Background(), "refresh-token-1"); !errors.Is(err, ErrNoDPoPKey) || !IsSessionEnding(err) {
		t.Fatalf("refresh without a key: %v", err)
	}
	if op.count("token") != before {
		t.Fatal("a refresh without the session's key reached the provider")
	}
}

// TestDPoPDiscoveryChecksTheAlgorithm: a provider listing DPoP algorithms without ours is
// a misconfiguration named at discovery; one listing none only warns.
func TestDPoPDiscoveryChecksTheAlgorithm(t *testing.T) {
	op := newTestOP(t)
	op.setMeta("dpop_signing_alg_values_supported", []string{"PS256"})
	cfg := op.testConfig(&logbuf.Buffer{})
	cfg.DPoP = true
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Discover(context.Background())
	if !errors.Is(err, ErrMisconfigured) || !strings.Contains(err.Error(), "oidc.dpopAlgorithm") {
		t.Fatalf("Discover: %v", err)
	}
	op.setMeta("dpop_signing_alg_values_supported", nil)
	_, logs := op.newProvider(dpopOn)
	if !strings.Contains(logs.String(), "dpop_signing_alg_values_supported") {
		t.Fatalf("no warning logged: %s", logs.String())
	}
	for _, alg := range []string{"HS256", "RS256"} { // RS256: a key per login costs ~100 ms CPU
		cfg.DPoPAlgorithm = alg
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%s: %v", alg, err)
		}
	}
}
