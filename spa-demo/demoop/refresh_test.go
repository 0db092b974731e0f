package demoop

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestRefreshRotatesTheRefreshToken(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	first := e.tokens(t, cfg)
	second, err := e.refresh(t, cfg, first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh grant did not rotate the refresh token")
	}
	if second.AccessToken == first.AccessToken {
		t.Error("refresh grant returned the same access token")
	}
	if a, b := claims(t, idToken(t, first))["sid"], claims(t, idToken(t, second))["sid"]; a != b || a == nil {
		t.Errorf("sid changed across refresh: %v -> %v", a, b)
	}
	third, err := e.refresh(t, cfg, second.RefreshToken)
	if err != nil || third.RefreshToken == second.RefreshToken {
		t.Fatalf("second rotation: %v", err)
	}
	if s := e.op.Stats(); s.RefreshGrants != 2 || s.RefreshReuseDetected != 0 {
		t.Errorf("stats = %+v, want 2 refresh grants, no reuse", s)
	}
}

// TestRefreshTokenReuseRevokesFamily_RefreshTokenReplay: presenting a rotated refresh
// token again kills the old and the new refresh token and the access tokens of the login.
func TestRefreshTokenReuseRevokesFamily_RefreshTokenReplay(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	first := e.tokens(t, cfg)
	second, err := e.refresh(t, cfg, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.refresh(t, cfg, first.RefreshToken)
	if oauthErrorCode(err) != "invalid_grant" || retrieveStatus(err) != http.StatusBadRequest {
		t.Fatalf("reuse of a rotated token: %v, want 400 invalid_grant", err)
	}
	if _, err := e.refresh(t, cfg, second.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("newest refresh token after reuse: %v, want invalid_grant", err)
	}
	if got := e.userinfoStatus(t, second.AccessToken); got == http.StatusOK {
		t.Error("access token of the revoked family still accepted")
	}
	if got := e.op.Stats().RefreshReuseDetected; got != 1 {
		t.Errorf("RefreshReuseDetected = %d, want 1", got)
	}
	other := e.tokens(t, cfg) // another login is a different family
	if _, err := e.refresh(t, cfg, other.RefreshToken); err != nil {
		t.Errorf("another login's refresh token was revoked too: %v", err)
	}
}

// TestRefreshByAnotherClientRefused_StolenRefreshToken: a refresh token only works for
// the client it was issued to.
func TestRefreshByAnotherClientRefused_StolenRefreshToken(t *testing.T) {
	e := newTestEnv(t)
	tok := e.tokens(t, e.bffConfig())
	thief := e.oauth2Config(otherClientID, otherSecret, otherRedirectURI, oauth2.AuthStyleInHeader)
	if _, err := e.refresh(t, thief, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("refresh by another client: %v, want invalid_grant", err)
	}
	if _, err := e.refresh(t, e.bffConfig(), tok.RefreshToken); err != nil {
		t.Errorf("the owner's refresh failed after the refused attempt: %v", err)
	}
}

// TestConcurrentRefreshWithOneToken: 200 refreshes race with the same token. Exactly one
// wins; every other one is a reuse, so the family ends up revoked. This is the behaviour
// the BFF's single-flight refresh must never trigger.
func TestConcurrentRefreshWithOneToken(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	tok := e.tokens(t, cfg)
	const n = 200
	var wins atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			got, err := e.refresh(t, cfg, tok.RefreshToken)
			if err == nil {
				wins.Add(1)
				winner.Store(got.RefreshToken)
			} else if code := oauthErrorCode(err); code != "invalid_grant" {
				t.Errorf("refresh: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d refreshes succeeded, want exactly 1", wins.Load())
	}
	if s := e.op.Stats(); s.RefreshGrants != 1 || s.RefreshReuseDetected != n-1 {
		t.Errorf("stats = %+v, want 1 refresh grant and %d reuses", s, n-1)
	}
	if _, err := e.refresh(t, cfg, winner.Load().(string)); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("winner's token after the reuse: %v, want invalid_grant", err)
	}
}

// clockedEnv is a test OP whose clock runs offset ahead of real time.
func clockedEnv(t *testing.T, edit func(*Config)) (*testEnv, *atomic.Int64) {
	offset := new(atomic.Int64)
	e := newTestEnv(t, func(c *Config) {
		edit(c)
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	return e, offset
}

func TestRefreshTokenExpiresOnTheInjectedClock(t *testing.T) {
	e, offset := clockedEnv(t, func(c *Config) { c.RefreshTokenLifetime = time.Hour })
	cfg := e.bffConfig()
	tok := e.tokens(t, cfg)
	offset.Store(int64(time.Hour + time.Minute))
	if _, err := e.refresh(t, cfg, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("expired refresh token: %v, want invalid_grant", err)
	}
	if got := e.op.Stats().RefreshReuseDetected; got != 0 {
		t.Errorf("expiry counted as reuse: %d", got)
	}
}

// TestRefreshGracePeriodAllowsAReuseWithinIt: with RefreshGracePeriod a rotated token is
// redeemed again within the period (a relying party that lost the answer can retry), and is
// a reuse that revokes the family after it.
func TestRefreshGracePeriodAllowsAReuseWithinIt(t *testing.T) {
	e, offset := clockedEnv(t, func(c *Config) { c.RefreshGracePeriod = time.Minute })
	cfg := e.bffConfig()
	first := e.tokens(t, cfg)
	if _, err := e.refresh(t, cfg, first.RefreshToken); err != nil {
		t.Fatal(err)
	}
	again, err := e.refresh(t, cfg, first.RefreshToken)
	if err != nil || again.RefreshToken == "" {
		t.Fatalf("redeeming the rotated token within the grace period: %v", err)
	}
	if _, err := e.refresh(t, cfg, again.RefreshToken); err != nil {
		t.Fatalf("the tokens issued within the grace period: %v", err)
	}
	offset.Store(int64(2 * time.Minute))
	if _, err := e.refresh(t, cfg, first.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("reuse after the grace period: %v, want invalid_grant", err)
	}
	if s := e.op.Stats(); s.RefreshReuseDetected != 1 {
		t.Errorf("stats = %+v, want the late reuse detected", s)
	}
}
