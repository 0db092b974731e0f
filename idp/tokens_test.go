package idp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestExchange(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	ar := op.loginAs(t)

	tok, id, err := p.Exchange(context.Background(), testCode, ar)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken != "access-token-1" || tok.RefreshToken != "refresh-token-2" || tok.IDToken == "" {
		t.Errorf("tokens = %+v", tok)
	}
	if tok.TokenType != "Bearer" {
		t.Errorf("TokenType = %q, want Bearer", tok.TokenType)
	}
	if want := op.clock.Now().Add(300 * time.Second); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v (from expires_in and the injected clock)", tok.Expiry, want)
	}
	if tok.Lifetime != 300*time.Second {
		t.Errorf("Lifetime = %v, want expires_in's 300s", tok.Lifetime)
	}
	if id.Subject != "user-42" || id.SID != "idp-session-7" {
		t.Errorf("identity = %+v", id)
	}
	wantClaims := map[string]any{"name": "Ada Lovelace", "email": "ada@example.com",
		"email_verified": true, "preferred_username": "ada"}
	if len(id.Claims) != len(wantClaims) {
		t.Errorf("claims = %v, want exactly %v", id.Claims, wantClaims)
	}
	for k, v := range wantClaims {
		if id.Claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, id.Claims[k], v)
		}
	}

	reqs := op.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	f := reqs[0].Form
	for k, v := range map[string]string{"grant_type": "authorization_code", "code": testCode,
		"code_verifier": ar.CodeVerifier, "redirect_uri": testRedirect} {
		if f.Get(k) != v {
			t.Errorf("token request %s = %q, want %q", k, f.Get(k), v)
		}
	}
}

func TestTokenEndpointClientAuthOnTheWire(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString(
		[]byte(url.QueryEscape(testClientID)+":"+url.QueryEscape(testSecret)))
	tests := []struct {
		name       string
		authStyle  string
		wantHeader string
		wantForm   url.Values
	}{
		{name: "default is client_secret_basic", authStyle: "", wantHeader: basic},
		{name: "client_secret_basic", authStyle: AuthStyleBasic, wantHeader: basic},
		{name: "client_secret_post", authStyle: AuthStylePost,
			wantForm: url.Values{"client_id": {testClientID}, "client_secret": {testSecret}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			p, _ := op.newProvider(func(c *Config) { c.AuthStyle = tt.authStyle })
			ar := op.loginAs(t)
			if _, _, err := p.Exchange(context.Background(), testCode, ar); err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.Refresh(context.Background(), "refresh-token-1"); err != nil {
				t.Fatal(err)
			}
			if err := p.Revoke(context.Background(), "refresh-token-2"); err != nil {
				t.Fatal(err)
			}
			op.mu.Lock()
			reqs := append(append([]recordedReq(nil), op.tokenReqs...), op.revReqs...)
			op.mu.Unlock()
			for i, r := range reqs {
				if r.Authorization != tt.wantHeader {
					t.Errorf("request %d Authorization = %q, want %q", i, r.Authorization, tt.wantHeader)
				}
				for _, k := range []string{"client_id", "client_secret"} {
					if r.Form.Get(k) != tt.wantForm.Get(k) {
						t.Errorf("request %d form %s = %q, want %q", i, k, r.Form.Get(k), tt.wantForm.Get(k))
					}
				}
			}
		})
	}
}

// A failed token request must not be retried with the other client-auth style:
// x/oauth2's auto-detection would send a rotating refresh token twice.
func TestTokenRequestIsNotRetriedWithTheOtherAuthStyle(t *testing.T) {
	for _, style := range []string{AuthStyleBasic, AuthStylePost} {
		for _, answer := range []struct {
			name   string
			status int
			code   string
		}{
			{name: "invalid_client", status: http.StatusUnauthorized, code: "invalid_client"},
			{name: "invalid_grant", status: http.StatusBadRequest, code: "invalid_grant"},
			{name: "server error", status: http.StatusInternalServerError},
		} {
			t.Run(style+"/"+answer.name, func(t *testing.T) {
				op := newTestOP(t)
				op.set(func(op *testOP) {
					op.token = func(w http.ResponseWriter, r *http.Request) {
						writeJSON(w, answer.status, map[string]string{"error": answer.code})
					}
				})
				p, _ := op.newProvider(func(c *Config) { c.AuthStyle = style })
				if _, _, err := p.Refresh(context.Background(), "refresh-token-1"); err == nil {
					t.Fatal("Refresh succeeded, want an error")
				}
				if n := op.count("token"); n != 1 {
					t.Errorf("token endpoint got %d requests, want exactly 1", n)
				}
			})
		}
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		tokenURL func(t *testing.T) string // overrides the token endpoint when set
		timeout  time.Duration
		wantErr  error
		wantCode string
	}{
		{name: "invalid_grant", wantErr: ErrInvalidGrant, wantCode: "invalid_grant",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant",
					"error_description": "refresh token refresh-token-1 was revoked"})
			}},
		{name: "invalid_grant with 200 (unorthodox server)", wantErr: ErrInvalidGrant, wantCode: "invalid_grant",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_grant"})
			}},
		{name: "503", wantErr: ErrUnavailable,
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "maintenance, client_secret="+testSecret, http.StatusServiceUnavailable)
			}},
		{name: "invalid_client keeps the session", wantErr: ErrUnavailable, wantCode: "invalid_client",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			}},
		{name: "malformed error code", wantErr: ErrUnavailable, wantCode: "(malformed)",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad\n\"code\""})
			}},
		{name: "network error", wantErr: ErrUnavailable,
			tokenURL: func(t *testing.T) string { return "http://" + closedAddr(t) + "/token" }},
		{name: "timeout", wantErr: ErrUnavailable, timeout: 200 * time.Millisecond,
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(3 * time.Second):
				}
			}},
		{name: "2 MiB chunked token response", wantErr: ErrUnavailable, handler: bigBody(2<<20, false)},
		{name: "2 MiB declared token response", wantErr: ErrUnavailable, handler: bigBody(2<<20, true)},
		{name: "no access token", wantErr: ErrUnavailable,
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]string{"token_type": "Bearer"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			op.set(func(op *testOP) { op.token = tt.handler })
			if tt.tokenURL != nil {
				op.setMeta("token_endpoint", tt.tokenURL(t))
			}
			p, logs := op.newProvider(func(c *Config) {
				if tt.timeout > 0 {
					c.Timeout = tt.timeout
				}
			})
			ar := op.loginAs(t)
			_, _, exErr := p.Exchange(context.Background(), testCode, ar)
			_, _, rfErr := p.Refresh(context.Background(), "refresh-token-1")
			for name, err := range map[string]error{"exchange": exErr, "refresh": rfErr} {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s: err = %v, want %v", name, err, tt.wantErr)
				}
				var te *TokenError
				if tt.wantCode != "" && (!errors.As(err, &te) || te.Code != tt.wantCode) {
					t.Errorf("%s: err = %v, want a TokenError with code %q", name, err, tt.wantCode)
				}
				assertNoSecrets(t, err.Error(), ar)
			}
			assertNoSecrets(t, logs.String(), ar)
		})
	}
}

// assertNoSecrets fails if s holds a secret, a token, the code or a login secret.
func assertNoSecrets(t *testing.T, s string, ar AuthRequest) {
	t.Helper()
	for _, secret := range []string{testSecret, url.QueryEscape(testSecret), testCode, "refresh-token-1",
		"refresh-token-2", "access-token-1", ar.CodeVerifier, ar.Nonce, ar.State, "maintenance"} {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%q leaks a secret (%q)", s, secret)
		}
	}
}

// A 307 from the token endpoint would make a following client POST the code, the
// verifier and the client secret to the Location: it must not be followed.
func TestTokenEndpointRedirectIsNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var stolen atomic.Int32
			thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stolen.Add(1)
			}))
			defer thief.Close()
			op := newTestOP(t)
			redirect := func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, thief.URL+"/token", status)
			}
			op.set(func(op *testOP) { op.token, op.revoke = redirect, redirect })
			p, _ := op.newProvider(nil)
			ar := op.loginAs(t)

			_, _, exErr := p.Exchange(context.Background(), testCode, ar)
			_, _, rfErr := p.Refresh(context.Background(), "refresh-token-1")
			rvErr := p.Revoke(context.Background(), "refresh-token-1")
			for name, err := range map[string]error{"exchange": exErr, "refresh": rfErr, "revoke": rvErr} {
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
				}
			}
			if n := stolen.Load(); n != 0 {
				t.Fatalf("the redirect target received %d requests, want 0", n)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(op *testOP)
		wantRT      string
		wantID      bool
		wantErr     error
		wantEndsSes bool
	}{
		{name: "rotated refresh token replaces the old one", wantRT: "refresh-token-2", wantID: true},
		{name: "no refresh token returned keeps the old one", wantRT: "refresh-token-1", wantID: true,
			setup: func(op *testOP) { op.rotateRT = "" }},
		{name: "no ID token returned", wantRT: "refresh-token-2",
			setup: func(op *testOP) { op.noIDToken = true }},
		{name: "ID token with a wrong audience ends the session", wantErr: ErrInvalidToken, wantEndsSes: true,
			setup: func(op *testOP) { op.idClaims = func(c map[string]any) { c["aud"] = "other-client" } }},
		{name: "ID token signed by another key ends the session", wantErr: ErrInvalidToken, wantEndsSes: true,
			setup: func(op *testOP) {
				other, kid := newRSAKey(op.t), op.kid
				op.idToken = func() string {
					return signJWT(op.t, other, kid, "RS256", "", op.goodIDClaimsLocked())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			if tt.setup != nil {
				op.set(tt.setup)
			}
			p, _ := op.newProvider(nil)
			tok, id, err := p.Refresh(context.Background(), "refresh-token-1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Refresh err = %v, want %v", err, tt.wantErr)
			}
			if IsSessionEnding(err) != tt.wantEndsSes {
				t.Errorf("IsSessionEnding = %v, want %v", IsSessionEnding(err), tt.wantEndsSes)
			}
			if err != nil {
				return
			}
			if tok.RefreshToken != tt.wantRT || tok.AccessToken != "access-token-1" {
				t.Errorf("tokens = %+v, want refresh token %q", tok, tt.wantRT)
			}
			if (id != nil) != tt.wantID || (id != nil && id.Subject != "user-42") {
				t.Errorf("identity = %+v, want present=%v", id, tt.wantID)
			}
			f := op.tokenRequests()[0].Form
			if f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "refresh-token-1" {
				t.Errorf("refresh request form = %v", f)
			}
		})
	}
}

func TestTokenCallsBeforeDiscovery(t *testing.T) {
	p, err := New(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	ar, _ := NewAuthRequest()
	_, _, exErr := p.Exchange(context.Background(), testCode, ar)
	_, _, rfErr := p.Refresh(context.Background(), "rt")
	_, aErr := p.AuthCodeURL(ar, nil)
	_, vErr := p.VerifyLogoutToken(context.Background(), "x.y.z")
	for name, err := range map[string]error{"exchange": exErr, "refresh": rfErr, "auth url": aErr,
		"revoke": p.Revoke(context.Background(), "rt"), "logout token": vErr} {
		if !errors.Is(err, ErrNotReady) {
			t.Errorf("%s: err = %v, want ErrNotReady", name, err)
		}
	}
	if _, ok := p.EndSessionURL("", ""); ok {
		t.Error("EndSessionURL before discovery must report false")
	}
}

// The token response is checked before use, at login and at refresh: token_type must be
// Bearer (case-insensitive; absent counts as Bearer) or the response is refused and no
// token is returned, so a DPoP- or MAC-bound token is never sent as a bearer; expires_in
// follows one rule (absent, zero or negative: AssumedTokenLifetime; above
// MaxTokenLifetime: clamped), so no value makes every request refresh.
func TestTokenResponseTypeAndLifetimeAreChecked(t *testing.T) {
	const absent = "(absent)"
	tests := []struct {
		name      string
		form      bool // answer application/x-www-form-urlencoded instead of JSON
		tokenType any  // absent: not in the response
		expiresIn any  // absent: not in the response
		wantErr   error
		wantLife  time.Duration
	}{
		{name: "Bearer", tokenType: "Bearer", expiresIn: 300, wantLife: 300 * time.Second},
		{name: "bearer lower case", tokenType: "bearer", expiresIn: 300, wantLife: 300 * time.Second},
		{name: "BEARER upper case", tokenType: "BEARER", expiresIn: 300, wantLife: 300 * time.Second},
		{name: "token_type absent counts as Bearer", tokenType: absent, expiresIn: 300, wantLife: 300 * time.Second},
		{name: "DPoP (sender-constrained) is refused", tokenType: "DPoP", expiresIn: 300, wantErr: ErrTokenType},
		{name: "dpop lower case is refused", tokenType: "dpop", expiresIn: 300, wantErr: ErrTokenType},
		{name: "mac is refused", tokenType: "mac", expiresIn: 300, wantErr: ErrTokenType},
		{name: "N_A (token exchange) is refused", tokenType: "N_A", expiresIn: 300, wantErr: ErrTokenType},
		{name: "Bearer with a trailing space is refused", tokenType: "Bearer ", expiresIn: 300, wantErr: ErrTokenType},
		{name: "DPoP form-encoded is refused", form: true, tokenType: "DPoP", expiresIn: "300", wantErr: ErrTokenType},
		{name: "expires_in absent", tokenType: "Bearer", expiresIn: absent, wantLife: AssumedTokenLifetime},
		{name: "expires_in null", tokenType: "Bearer", expiresIn: nil, wantLife: AssumedTokenLifetime},
		{name: "expires_in zero", tokenType: "Bearer", expiresIn: 0, wantLife: AssumedTokenLifetime},
		{name: "expires_in negative", tokenType: "Bearer", expiresIn: -1, wantLife: AssumedTokenLifetime},
		{name: "expires_in very negative", tokenType: "Bearer", expiresIn: -86400, wantLife: AssumedTokenLifetime},
		{name: "expires_in one second", tokenType: "Bearer", expiresIn: 1, wantLife: time.Second},
		{name: "expires_in as a string (PayPal)", tokenType: "Bearer", expiresIn: "3600", wantLife: time.Hour},
		{name: "expires_in exactly the maximum", tokenType: "Bearer", expiresIn: 86400, wantLife: MaxTokenLifetime},
		{name: "expires_in a year is clamped", tokenType: "Bearer", expiresIn: 365 * 86400, wantLife: MaxTokenLifetime},
		{name: "expires_in past int32 is clamped", tokenType: "Bearer", expiresIn: int64(1) << 40, wantLife: MaxTokenLifetime},
		{name: "expires_in far below zero is unknown (no int32 wrap-around)", tokenType: "Bearer", expiresIn: -3000000000, wantLife: AssumedTokenLifetime},
		{name: "form-encoded expires_in", form: true, tokenType: "bearer", expiresIn: "600", wantLife: 10 * time.Minute},
		{name: "form-encoded expires_in negative", form: true, tokenType: "bearer", expiresIn: "-5", wantLife: AssumedTokenLifetime},
		{name: "form-encoded expires_in not a number", form: true, tokenType: "bearer", expiresIn: "soon", wantLife: AssumedTokenLifetime},
		{name: "form-encoded expires_in absent", form: true, tokenType: "bearer", expiresIn: absent, wantLife: AssumedTokenLifetime},
		{name: "form-encoded expires_in huge", form: true, tokenType: "bearer", expiresIn: "99999999999999999999", wantLife: AssumedTokenLifetime},
	}
	for _, tt := range tests {
		for _, flow := range []string{"login", "refresh"} {
			t.Run(flow+"/"+tt.name, func(t *testing.T) {
				op := newTestOP(t)
				op.set(func(op *testOP) {
					op.token = func(w http.ResponseWriter, r *http.Request) {
						resp := op.tokenResponse()
						for k, v := range map[string]any{"token_type": tt.tokenType, "expires_in": tt.expiresIn} {
							resp[k] = v
							if v == absent {
								delete(resp, k)
							}
						}
						writeTokenResponse(w, resp, tt.form)
					}
				})
				p, logs := op.newProvider(nil)
				ar := op.loginAs(t)
				var tok *Tokens
				var err error
				if flow == "login" {
					tok, _, err = p.Exchange(context.Background(), testCode, ar)
				} else {
					tok, _, err = p.Refresh(context.Background(), "refresh-token-1")
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidToken) || !IsSessionEnding(err) || tok != nil {
						t.Fatalf("%s = %+v, %v; want no tokens and %v (an ErrInvalidToken)", flow, tok, err, tt.wantErr)
					}
					assertNoSecrets(t, err.Error(), ar)
					assertNoSecrets(t, logs.String(), ar)
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", flow, err)
				}
				if tok.TokenType != "Bearer" {
					t.Errorf("TokenType = %q, want it normalised to Bearer", tok.TokenType)
				}
				if tok.Lifetime != tt.wantLife || !tok.Expiry.Equal(op.clock.Now().Add(tt.wantLife)) {
					t.Errorf("Lifetime %v, Expiry %v; want %v from now (%v)", tok.Lifetime, tok.Expiry, tt.wantLife, op.clock.Now())
				}
			})
		}
	}
}

// writeTokenResponse answers resp as JSON, or form-encoded (some older providers).
func writeTokenResponse(w http.ResponseWriter, resp map[string]any, form bool) {
	if !form {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	v := url.Values{}
	for k, x := range resp {
		v.Set(k, fmt.Sprint(x))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	_, _ = w.Write([]byte(v.Encode()))
}
