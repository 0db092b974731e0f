package demoop

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func TestEndSessionRedirectsBackAndEndsTheOPSession(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	browser := e.browser(t)
	a := newAttempt(cfg)
	cb := e.login(t, browser, a)
	tok, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code"), oauthVerifier(a))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"id_token_hint": {idToken(t, tok)}, "post_logout_redirect_uri": {testPostLogout}, "state": {"bye"}}
	resp := e.get(t, browser, e.issuer+"/end_session?"+q.Encode())
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("end_session status %d: %v", resp.StatusCode, err)
	}
	if loc.Scheme+"://"+loc.Host+loc.Path != testPostLogout || loc.Query().Get("state") != "bye" {
		t.Errorf("redirect = %s, want %s?state=bye", loc, testPostLogout)
	}
	if got := e.op.Stats().EndSessions; got != 1 {
		t.Errorf("EndSessions = %d, want 1", got)
	}
	if _, err := e.refresh(t, cfg, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after end_session: %v, want invalid_grant", err)
	}
	// The SSO cookie is gone: the next login shows the form again (wrong password proves it).
	if _, err := LoginHeadless(t.Context(), browser, newAttempt(cfg).url, "alice", "nope"); !errors.Is(err, ErrLoginRejected) {
		t.Errorf("login after end_session: %v, want the form (ErrLoginRejected)", err)
	}
}

// TestEndSessionRefusesUnregisteredPostLogoutURI_OpenRedirect.
func TestEndSessionRefusesUnregisteredPostLogoutURI_OpenRedirect(t *testing.T) {
	e := newTestEnv(t)
	tok := e.tokens(t, e.bffConfig())
	q := url.Values{"id_token_hint": {idToken(t, tok)}, "post_logout_redirect_uri": {"https://attacker.example/"}}
	resp := e.get(t, e.browser(t), e.issuer+"/end_session?"+q.Encode())
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("status %d, Location %q; want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.op.Stats().EndSessions; got != 0 {
		t.Errorf("EndSessions = %d, want 0", got)
	}
}

// TestEndSessionRefusesForgedHint_LogoutCSRF: an id_token_hint not signed by the OP
// cannot end sessions.
func TestEndSessionRefusesForgedHint_LogoutCSRF(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	tok := e.tokens(t, cfg)
	raw := idToken(t, tok)
	forged := raw[:len(raw)-4] + "AAAA"
	q := url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {testPostLogout}}
	resp := e.get(t, e.browser(t), e.issuer+"/end_session?"+q.Encode())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if _, err := e.refresh(t, cfg, tok.RefreshToken); err != nil {
		t.Errorf("session ended by a forged hint: %v", err)
	}
}
