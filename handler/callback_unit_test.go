package handler

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// exchangeProvider is the fake provider whose code exchange answers with toks or err.
type exchangeProvider struct {
	*fakeProvider
	toks *idp.Tokens
	err  error
}

func (p exchangeProvider) Exchange(context.Context, string, idp.AuthRequest) (*idp.Tokens, *idp.Identity, error) {
	if p.err != nil {
		return nil, nil, p.err
	}
	return p.toks, &idp.Identity{Subject: "alice", SID: "op-sid", Claims: map[string]any{"email": "alice@example.com"}}, nil
}

// startLogin runs /bff/login for returnTo and returns the state and the login cookie.
func (u *unit) startLogin(t *testing.T, returnTo string) (state string, cookie *http.Cookie) {
	t.Helper()
	w := u.serve(httptest.NewRequest(http.MethodGet, "https://app.example/bff/login?returnTo="+url.QueryEscape(returnTo), nil))
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil {
		t.Fatalf("login: %d %q", w.Code, w.Header().Get("Location"))
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == loginCookie {
			return loc.Query().Get("state"), c
		}
	}
	t.Fatal("login set no login cookie")
	return "", nil
}

// TestCallbackOutcomeOfEachExchangeResult: what the code exchange answers decides the
// callback's page and its counted outcome; only a success creates a session, under a new
// id, with the tokens in the store and none in the answer.
func TestCallbackOutcomeOfEachExchangeResult(t *testing.T) {
	tokens := &idp.Tokens{AccessToken: "at-secret", RefreshToken: "rt-secret", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	tests := []struct {
		name    string
		err     error
		status  int
		outcome string
		page    string
	}{
		{name: "ok", status: http.StatusFound, outcome: LoginOK},
		{name: "forged id token", err: fmt.Errorf("nonce: %w", idp.ErrInvalidToken), status: 400, outcome: LoginInvalidToken, page: "could not be verified"},
		{name: "dpop token", err: fmt.Errorf("exchange: %w", idp.ErrTokenType), status: 502, outcome: LoginInvalidToken, page: "not a Bearer token"},
		{name: "bearer token with dpop on", err: fmt.Errorf("exchange: %w", idp.ErrNotDPoPBound), status: 502, outcome: LoginInvalidToken, page: "enable DPoP-bound access tokens"},
		{name: "client refused", err: fmt.Errorf("exchange: %w", idp.ErrMisconfigured), status: 503, outcome: LoginIdPError, page: "misconfigured"},
		{name: "token endpoint down", err: fmt.Errorf("exchange: %w", idp.ErrUnavailable), status: 502, outcome: LoginIdPError, page: "try again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, asIs, nil)
			u.h.d.IdP = exchangeProvider{fakeProvider: u.idp, toks: tokens, err: tc.err}
			state, lc := u.startLogin(t, "/deep?x=1")
			r := httptest.NewRequest(http.MethodGet, "https://app.example/bff/callback?code=c&state="+url.QueryEscape(state), nil)
			r.AddCookie(lc)
			w := u.serve(r)
			body := w.Body.String()
			if w.Code != tc.status || u.rec.count("login:"+tc.outcome) != 1 || !strings.Contains(body, tc.page) {
				t.Fatalf("got %d, %s counted %d, page %q; want %d, once, %q", w.Code, tc.outcome, u.rec.count("login:"+tc.outcome), body, tc.status, tc.page)
			}
			if strings.Contains(body, "secret") || strings.Contains(w.Header().Get("Location"), "secret") {
				t.Fatal("a token reached the browser")
			}
			var sessionCookie *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == "__Host-bff" && c.Value != "" {
					sessionCookie = c
				}
			}
			if (sessionCookie != nil) != (tc.err == nil) || u.rec.count("created:") != map[bool]int{true: 1}[tc.err == nil] {
				t.Fatalf("session cookie %v, created %d", sessionCookie != nil, u.rec.count("created:"))
			}
			if tc.err == nil {
				if w.Header().Get("Location") != "/deep?x=1" || !sessionCookie.HttpOnly || !sessionCookie.Secure {
					t.Fatalf("302 to %q, cookie %+v", w.Header().Get("Location"), sessionCookie)
				}
				id := u.h.readSessionID(withCookie(sessionCookie))
				if rec, err := u.store.Get(context.Background(), id); err != nil || rec.AccessToken != "at-secret" || rec.Subject != "alice" {
					t.Fatalf("stored session: %v %+v", err, rec)
				}
			}
		})
	}
}

// TestCallbackWithoutItsPendingLogin: a callback whose state names no pending login of
// this browser (none, another browser's, one already used) gets a retry page and counts
// bad_state; a store that cannot answer is a store_error with a 503 page.
func TestCallbackWithoutItsPendingLogin(t *testing.T) {
	u := newUnit(t, asIs, nil)
	state, lc := u.startLogin(t, "/")
	call := func(state string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "https://app.example/bff/callback?code=c&state="+url.QueryEscape(state), nil)
		if c != nil {
			r.AddCookie(c)
		}
		return u.serve(r)
	}
	if w := call(state, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Sign-in expired") {
		t.Fatalf("without the login cookie: %d %s", w.Code, w.Body.String())
	}
	if w := call("", lc); w.Code != http.StatusBadRequest {
		t.Fatalf("without a state: %d", w.Code)
	}
	if got := u.rec.count("login:" + LoginBadState); got != 2 {
		t.Fatalf("bad_state counted %d times, want 2", got)
	}
	u.h.d.Store = failingStore{Store: u.store}
	if w := call(state, lc); w.Code != http.StatusServiceUnavailable || u.rec.count("login:"+LoginStoreError) != 1 {
		t.Fatalf("store down: %d, store_error counted %d", w.Code, u.rec.count("login:"+LoginStoreError))
	}
}

// failingStore is a store whose pending logins cannot be read (Redis down).
type failingStore struct{ session.Store }

func (failingStore) TakeLogin(context.Context, string, []string) ([]byte, error) {
	return nil, fmt.Errorf("redis: %w", session.ErrUnavailable)
}

func withCookie(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	return r
}

// TestUnknownBFFPathsAndMethodsAreProblems: under /bff/ only the contract's endpoints and
// methods exist; anything else (an unknown endpoint, a method an endpoint does not take)
// is a 404 problem+json like every other error, and /healthz answers without touching
// anything.
func TestUnknownBFFPathsAndMethodsAreProblems(t *testing.T) {
	u := newUnit(t, asIs, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/bff/nothing-here", http.StatusNotFound},
		{http.MethodDelete, "/bff/user", http.StatusNotFound},
	} {
		w := u.serve(httptest.NewRequest(tc.method, "https://app.example"+tc.path, nil))
		if w.Code != tc.status || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: %d %q, want %d problem+json", tc.method, tc.path, w.Code, w.Header().Get("Content-Type"), tc.status)
		}
	}
	w := httptest.NewRecorder()
	Health(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("/healthz: %d %s", w.Code, w.Body.String())
	}
}
