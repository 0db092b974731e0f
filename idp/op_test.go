package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"

	jose "github.com/go-jose/go-jose/v4"
)

// Test values. testSecret holds characters that must be form-encoded in Basic auth.
const (
	testClientID = "bff-client"
	testSecret   = "s3cr:et/+&=%"
	testRedirect = "https://app.example.com/bff/callback"
	testCode     = "auth-code-4f1c9a"
)

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recordedReq is what an endpoint of the test OP received.
type recordedReq struct {
	Authorization string
	Form          url.Values
}

// testOP is an OpenID provider served by httptest: discovery, JWKS, token and
// revocation endpoints, signing with an RSA key the test holds. Handlers can be
// replaced per test; every endpoint counts its hits.
type testOP struct {
	t      *testing.T
	srv    *httptest.Server
	issuer string
	key    *rsa.PrivateKey
	kid    string
	clock  *testClock

	mu        sync.Mutex
	meta      map[string]any
	jwksKeys  []jose.JSONWebKey
	nonce     string               // nonce the default token handler puts in ID tokens
	idToken   func() string        // overrides the default ID token when set
	token     http.HandlerFunc     // overrides the token endpoint when set
	revoke    http.HandlerFunc     // overrides the revocation endpoint when set
	jwks      http.HandlerFunc     // overrides the JWKS endpoint when set
	userinfo  http.HandlerFunc     // serves GET /userinfo (404 when unset)
	tokenReqs []recordedReq        // every token request
	revReqs   []recordedReq        // every revocation request
	extraResp map[string]any       // merged into the default token response
	noIDToken bool                 // default token response omits id_token
	rotateRT  string               // default token response's refresh_token
	idClaims  func(map[string]any) // mutates the default ID token claims
	hits      map[string]*atomic.Int32
}

func newTestOP(t *testing.T) *testOP {
	t.Helper()
	key := newRSAKey(t)
	op := &testOP{t: t, key: key, kid: "key-1", clock: newTestClock(), rotateRT: "refresh-token-2",
		hits: map[string]*atomic.Int32{}}
	for _, n := range []string{"discovery", "jwks", "token", "revoke"} {
		op.hits[n] = new(atomic.Int32)
	}
	op.jwksKeys = []jose.JSONWebKey{{Key: key.Public(), KeyID: op.kid, Algorithm: "RS256", Use: "sig"}}
	op.srv = httptest.NewServer(op.mux())
	t.Cleanup(op.srv.Close)
	op.setIssuer("http://" + op.srv.Listener.Addr().String())
	return op
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// setIssuer (re)writes the discovery document for issuer.
func (op *testOP) setIssuer(issuer string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.issuer = issuer
	op.meta = map[string]any{
		"issuer":                                         issuer,
		"authorization_endpoint":                         issuer + "/authorize",
		"token_endpoint":                                 issuer + "/token",
		"jwks_uri":                                       issuer + "/jwks",
		"end_session_endpoint":                           issuer + "/logout?tenant=a",
		"revocation_endpoint":                            issuer + "/revoke",
		"id_token_signing_alg_values_supported":          []string{"RS256", "none", "HS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	}
}

func (op *testOP) setMeta(k string, v any) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if v == nil {
		delete(op.meta, k)
		return
	}
	op.meta[k] = v
}

func (op *testOP) set(f func(op *testOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

func (op *testOP) count(endpoint string) int { return int(op.hits[endpoint].Load()) }

func (op *testOP) tokenRequests() []recordedReq {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]recordedReq(nil), op.tokenReqs...)
}

func (op *testOP) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		op.hits["discovery"].Add(1)
		op.mu.Lock()
		body, _ := json.Marshal(op.meta)
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	m.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		op.hits["jwks"].Add(1)
		op.mu.Lock()
		h, keys := op.jwks, op.jwksKeys
		op.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: keys})
	})
	m.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		op.hits["token"].Add(1)
		op.record(r, &op.tokenReqs)
		op.mu.Lock()
		h := op.token
		op.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		writeJSON(w, http.StatusOK, op.tokenResponse())
	})
	m.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		h := op.userinfo
		op.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	})
	m.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		op.hits["revoke"].Add(1)
		op.record(r, &op.revReqs)
		op.mu.Lock()
		h := op.revoke
		op.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return m
}

func (op *testOP) record(r *http.Request, into *[]recordedReq) {
	_ = r.ParseForm()
	op.mu.Lock()
	defer op.mu.Unlock()
	*into = append(*into, recordedReq{Authorization: r.Header.Get("Authorization"), Form: r.PostForm})
}

// tokenResponse is the default successful token answer.
func (op *testOP) tokenResponse() map[string]any {
	op.mu.Lock()
	defer op.mu.Unlock()
	resp := map[string]any{
		"access_token":  "access-token-1",
		"token_type":    "bearer",
		"refresh_token": op.rotateRT,
		"expires_in":    300,
	}
	if op.rotateRT == "" {
		delete(resp, "refresh_token")
	}
	if !op.noIDToken {
		if op.idToken != nil {
			resp["id_token"] = op.idToken()
		} else {
			resp["id_token"] = op.signLocked(op.goodIDClaimsLocked())
		}
	}
	for k, v := range op.extraResp {
		resp[k] = v
	}
	return resp
}

// goodIDClaims is a valid ID token payload for the current nonce and clock.
func (op *testOP) goodIDClaims() map[string]any {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.goodIDClaimsLocked()
}

func (op *testOP) goodIDClaimsLocked() map[string]any {
	now := op.clock.Now()
	c := map[string]any{
		"iss":                op.issuer,
		"sub":                "user-42",
		"aud":                testClientID,
		"iat":                now.Unix(),
		"exp":                now.Add(5 * time.Minute).Unix(),
		"nonce":              op.nonce,
		"sid":                "idp-session-7",
		"name":               "Ada Lovelace",
		"email":              "ada@example.com",
		"email_verified":     true,
		"preferred_username": "ada",
		"internal_note":      "not a profile claim",
	}
	if op.idClaims != nil {
		op.idClaims(c)
	}
	return c
}

// goodLogoutClaims is a valid logout token payload.
func (op *testOP) goodLogoutClaims() map[string]any {
	op.mu.Lock()
	defer op.mu.Unlock()
	now := op.clock.Now()
	return map[string]any{
		"iss":    op.issuer,
		"aud":    testClientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    "jti-" + randomID(op.t),
		"sub":    "user-42",
		"sid":    "idp-session-7",
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
}

func (op *testOP) sign(claims map[string]any) string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.signLocked(claims)
}

func (op *testOP) signLocked(claims map[string]any) string {
	return signJWT(op.t, op.key, op.kid, jose.RS256, "", claims)
}

// signJWT signs claims with go-jose v4, with typ as the header's typ ("" for none).
func signJWT(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	return signJWTWith(t, key, kid, alg, opts, claims)
}

// signJWTWith signs claims with the given signer options (headers exactly as the test
// wants them).
func signJWTWith(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, opts *jose.SignerOptions, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedJWT is an alg=none token (RFC 7519 §6).
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// testConfig is a valid Config for op; logs go to logs.
func (op *testOP) testConfig(logs *logbuf.Buffer) Config {
	return Config{
		Issuer:                op.issuer,
		ClientID:              testClientID,
		ClientSecret:          testSecret,
		RedirectURL:           testRedirect,
		PostLogoutRedirectURL: "https://app.example.com/",
		AuthParams:            []string{"prompt", "login_hint"},
		Timeout:               2 * time.Second,
		AllowInsecureIssuer:   true,
		Now:                   op.clock.Now,
		Logger:                slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// newProvider builds a Provider for op (cfg edited by edit, may be nil) and discovers.
func (op *testOP) newProvider(edit func(*Config)) (*Provider, *logbuf.Buffer) {
	op.t.Helper()
	logs := &logbuf.Buffer{}
	cfg := op.testConfig(logs)
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		op.t.Fatalf("New: %v", err)
	}
	if err := p.Discover(context.Background()); err != nil {
		op.t.Fatalf("Discover: %v", err)
	}
	return p, logs
}

// loginAs prepares an AuthRequest whose nonce the OP will put in the ID token.
func (op *testOP) loginAs(t *testing.T) AuthRequest {
	t.Helper()
	ar, err := NewAuthRequest()
	if err != nil {
		t.Fatal(err)
	}
	op.set(func(op *testOP) { op.nonce = ar.Nonce })
	return ar
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
