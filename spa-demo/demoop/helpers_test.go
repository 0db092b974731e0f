package demoop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	testClientID     = "bff"
	testClientSecret = "bff-secret"
	testRedirectURI  = "http://127.0.0.1:9/bff/callback"
	testPostLogout   = "http://127.0.0.1:9/signed-out"
	otherClientID    = "other"
	otherSecret      = "other-secret"
	otherRedirectURI = "http://127.0.0.1:9/other/callback"
)

// sharedTestKey spares each test its own RSA key generation (~0.1–0.5 s); New itself is
// covered by ExampleNew, the start-up timing test and the config tests.
var sharedTestKey = sync.OnceValues(newSigningKey)

// testEnv is one OP served by an httptest server, with two registered clients.
type testEnv struct {
	op     *OP
	srv    *httptest.Server
	issuer string
}

func newTestEnv(t *testing.T, mutate ...func(*Config)) *testEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	cfg := Config{
		Issuer: issuer,
		Clients: []Client{
			{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirectURI},
				PostLogoutRedirectURIs: []string{testPostLogout}},
			{ID: otherClientID, Secret: otherSecret, RedirectURIs: []string{otherRedirectURI}},
		},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	o, err := newOP(cfg, sharedTestKey)
	if err != nil {
		srv.Listener.Close()
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = o.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEnv{op: o, srv: srv, issuer: issuer}
}

// ctx carries the test server's client for x/oauth2 and go-oidc.
func (e *testEnv) ctx(t *testing.T) context.Context {
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, e.srv.Client())
	return gooidc.ClientContext(ctx, e.srv.Client())
}

func (e *testEnv) oauth2Config(clientID, secret, redirect string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: e.issuer + "/authorize", TokenURL: e.issuer + "/oauth/token", AuthStyle: style,
		},
	}
}

func (e *testEnv) bffConfig(scopes ...string) *oauth2.Config {
	return e.oauth2Config(testClientID, testClientSecret, testRedirectURI, oauth2.AuthStyleInHeader, scopes...)
}

// authAttempt is one authorization request of a test RP.
type authAttempt struct {
	state, nonce, verifier string
	url                    string
}

func newAttempt(cfg *oauth2.Config, extra ...oauth2.AuthCodeOption) authAttempt {
	a := authAttempt{state: "st-" + oauth2.GenerateVerifier()[:12], nonce: "n-" + oauth2.GenerateVerifier()[:12],
		verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier),
		oauth2.SetAuthURLParam("nonce", a.nonce)}, extra...)
	a.url = cfg.AuthCodeURL(a.state, opts...)
	return a
}

// browser returns a client with a cookie jar that does not follow redirects.
func (e *testEnv) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// login signs alice in and returns the callback URL.
func (e *testEnv) login(t *testing.T, c *http.Client, a authAttempt) *url.URL {
	t.Helper()
	cb, err := LoginHeadless(t.Context(), c, a.url, "alice", "wonderland")
	if err != nil {
		t.Fatalf("LoginHeadless: %v", err)
	}
	if got := cb.Query().Get("state"); got != a.state {
		t.Fatalf("callback state = %q, want %q", got, a.state)
	}
	return cb
}

// tokens runs a full code flow for alice at cfg's client.
func (e *testEnv) tokens(t *testing.T, cfg *oauth2.Config) *oauth2.Token {
	t.Helper()
	a := newAttempt(cfg)
	cb := e.login(t, e.browser(t), a)
	tok, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// refresh redeems a refresh token once.
func (e *testEnv) refresh(t *testing.T, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	return cfg.TokenSource(e.ctx(t), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatal("token response has no id_token")
	}
	return raw
}

// claims decodes a JWT payload without verifying it (verification has its own tests).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// oauthErrorCode returns the OAuth error code of a failed x/oauth2 call, or "".
func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func retrieveStatus(err error) int {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// get performs one request without following redirects.
func (e *testEnv) get(t *testing.T, c *http.Client, rawURL string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *testEnv) postForm(t *testing.T, c *http.Client, path string, form url.Values, basicUser, basicPass string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func oauthVerifier(a authAttempt) oauth2.AuthCodeOption { return oauth2.VerifierOption(a.verifier) }
