package demoop

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestCodeFlowWithPKCE(t *testing.T) {
	tests := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{name: "client_secret_basic", style: oauth2.AuthStyleInHeader},
		{name: "client_secret_post", style: oauth2.AuthStyleInParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) { c.AccessTokenLifetime = 2 * time.Second })
			cfg := e.oauth2Config(testClientID, testClientSecret, testRedirectURI, tt.style)
			a := newAttempt(cfg)
			cb := e.login(t, e.browser(t), a)
			if got := cb.Query().Get("iss"); got != e.issuer {
				t.Errorf("callback iss = %q, want %q (RFC 9207)", got, e.issuer)
			}
			tok, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code"), oauth2.VerifierOption(a.verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Error("offline_access gave no refresh token")
			}
			if tok.ExpiresIn < 1 || tok.ExpiresIn > 2 {
				t.Errorf("expires_in = %d, want about 2", tok.ExpiresIn)
			}
			checkIDToken(t, e, idToken(t, tok), a.nonce)
			checkAccessToken(t, e, tok.AccessToken, 2*time.Second)
			if got := e.op.Stats().AuthCodeGrants; got != 1 {
				t.Errorf("AuthCodeGrants = %d, want 1", got)
			}
		})
	}
}

func checkIDToken(t *testing.T, e *testEnv, raw, nonce string) {
	t.Helper()
	p, err := gooidc.NewProvider(e.ctx(t), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: testClientID}).Verify(e.ctx(t), raw)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	var c struct {
		Nonce, Sid, Name, Email, Azp string
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	want := DefaultUsers()[0]
	if idt.Subject != want.Subject || c.Nonce != nonce || c.Sid == "" || c.Name != want.Name ||
		c.Email != want.Email || c.Azp != testClientID {
		t.Errorf("ID token claims: sub=%q nonce=%q sid=%q name=%q email=%q azp=%q", idt.Subject, c.Nonce, c.Sid, c.Name, c.Email, c.Azp)
	}
}

func checkAccessToken(t *testing.T, e *testEnv, raw string, lifetime time.Duration) {
	t.Helper()
	p, err := gooidc.NewProvider(e.ctx(t), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	at, err := p.Verifier(&gooidc.Config{ClientID: testClientID}).Verify(e.ctx(t), raw)
	if err != nil {
		t.Fatalf("access token is not a JWT signed by the OP: %v", err)
	}
	c := claims(t, raw)
	if c["sid"] == "" || c["sid"] == nil || c["scope"] != "openid profile email offline_access" || c["client_id"] != testClientID {
		t.Errorf("access token claims: %v", c)
	}
	if got := time.Until(at.Expiry); got > lifetime+time.Second || got < lifetime-2*time.Second {
		t.Errorf("access token expires in %v, want about %v", got, lifetime)
	}
}

func TestWithoutOfflineAccessNoRefreshToken(t *testing.T) {
	e := newTestEnv(t)
	tok := e.tokens(t, e.bffConfig("openid", "profile"))
	if tok.RefreshToken != "" {
		t.Error("refresh token issued without offline_access")
	}
	c := claims(t, idToken(t, tok))
	if c["email"] != nil {
		t.Errorf("email claim without the email scope: %v", c["email"])
	}
}

// TestAuthorizeRefusesRequestWithoutS256_PKCEDowngrade: a client that omits PKCE or asks
// for "plain" is refused at the authorization endpoint, with an error sent to its
// registered redirect URI (carrying iss), never a login page.
func TestAuthorizeRefusesRequestWithoutS256_PKCEDowngrade(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
	}{
		{name: "no PKCE", params: url.Values{}},
		{name: "plain", params: url.Values{"code_challenge": {"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}, "code_challenge_method": {"plain"}}},
		{name: "challenge without method", params: url.Values{"code_challenge": {"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			q := url.Values{"client_id": {testClientID}, "redirect_uri": {testRedirectURI},
				"response_type": {"code"}, "scope": {"openid"}, "state": {"s1"}}
			for k, v := range tt.params {
				q[k] = v
			}
			resp := e.get(t, e.browser(t), e.issuer+"/authorize?"+q.Encode())
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("status %d, no redirect: %v", resp.StatusCode, err)
			}
			got := loc.Query()
			if !strings.HasPrefix(loc.String(), testRedirectURI) || got.Get("error") != "invalid_request" ||
				got.Get("state") != "s1" || got.Get("iss") != e.issuer {
				t.Errorf("redirect = %s", loc.Redacted())
			}
		})
	}
}

// TestAuthorizeRefusesUnregisteredRedirectURI_OpenRedirect: an unregistered redirect_uri
// gets a 400 from the OP, never a redirect there.
func TestAuthorizeRefusesUnregisteredRedirectURI_OpenRedirect(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	cfg.RedirectURL = "https://attacker.example/cb"
	resp := e.get(t, e.browser(t), newAttempt(cfg).url)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("status %d, Location %q; want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestCodeExchangeRefusesWrongVerifier_AuthorizationCodeInjection: a code stolen from a
// callback is useless without the PKCE verifier.
func TestCodeExchangeRefusesWrongVerifier_AuthorizationCodeInjection(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	a := newAttempt(cfg)
	cb := e.login(t, e.browser(t), a)
	_, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("exchange with a wrong verifier: %v, want invalid_grant", err)
	}
	if _, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code")); oauthErrorCode(err) != "invalid_request" {
		t.Fatalf("exchange without verifier: %v, want invalid_request", err)
	}
	if got := e.op.Stats().AuthCodeGrants; got != 0 {
		t.Errorf("AuthCodeGrants = %d, want 0", got)
	}
}

// TestCodeReplayRevokesIssuedTokens_CodeReplay: the second redemption of a code fails and
// revokes the tokens the first one got (RFC 6749 section 4.1.2).
func TestCodeReplayRevokesIssuedTokens_CodeReplay(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	a := newAttempt(cfg)
	cb := e.login(t, e.browser(t), a)
	code := cb.Query().Get("code")
	tok, err := cfg.Exchange(e.ctx(t), code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Exchange(e.ctx(t), code, oauth2.VerifierOption(a.verifier)); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("replayed code: %v, want invalid_grant", err)
	}
	if _, err := e.refresh(t, cfg, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after code replay: %v, want invalid_grant", err)
	}
	if got := e.userinfoStatus(t, tok.AccessToken); got == http.StatusOK {
		t.Error("access token still accepted by userinfo after code replay")
	}
}

// TestTokenEndpointRefusesWrongSecret_ClientImpersonation covers both client auth styles.
func TestTokenEndpointRefusesWrongSecret_ClientImpersonation(t *testing.T) {
	tests := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{name: "basic", style: oauth2.AuthStyleInHeader},
		{name: "post", style: oauth2.AuthStyleInParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			good := e.bffConfig()
			a := newAttempt(good)
			cb := e.login(t, e.browser(t), a)
			bad := e.oauth2Config(testClientID, "wrong-secret", testRedirectURI, tt.style)
			_, err := bad.Exchange(e.ctx(t), cb.Query().Get("code"), oauth2.VerifierOption(a.verifier))
			if oauthErrorCode(err) != "invalid_client" || retrieveStatus(err) != http.StatusUnauthorized {
				t.Fatalf("wrong secret: %v, want 401 invalid_client", err)
			}
			if strings.Contains(err.Error(), "wrong-secret") {
				t.Error("the error echoes the secret")
			}
		})
	}
}

func (e *testEnv) userinfoStatus(t *testing.T, accessToken string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.issuer+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestUserinfoReturnsScopedClaims(t *testing.T) {
	e := newTestEnv(t)
	tok := e.tokens(t, e.bffConfig())
	p, err := gooidc.NewProvider(e.ctx(t), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := p.UserInfo(e.ctx(t), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != DefaultUsers()[0].Subject || ui.Email != DefaultUsers()[0].Email {
		t.Errorf("userinfo = %+v", ui)
	}
}

// TestOmitSIDIssuesTokensWithoutSid: with OmitSID the OP behaves like Amazon Cognito and
// some Entra ID setups: neither the ID token nor the access token names an OP session,
// before or after a refresh, so relying parties can be tested against such a provider.
func TestOmitSIDIssuesTokensWithoutSid(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.OmitSID = true })
	cfg := e.bffConfig()
	tok := e.tokens(t, cfg)
	refreshed, err := e.refresh(t, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	for name, raw := range map[string]string{
		"ID token": idToken(t, tok), "access token": tok.AccessToken,
		"refreshed ID token": idToken(t, refreshed), "refreshed access token": refreshed.AccessToken,
	} {
		c := claims(t, raw)
		if _, ok := c["sid"]; ok || c["sub"] != DefaultUsers()[0].Subject {
			t.Errorf("%s with OmitSID: sid=%v sub=%v, want no sid and alice's sub", name, c["sid"], c["sub"])
		}
	}
}
