package demoop

import (
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// TestConcurrentFlows races complete logins, exchanges, refreshes, userinfo and discovery
// calls (over 200 requests) on one OP; run it with -race.
func TestConcurrentFlows(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	const flows = 30
	var wg sync.WaitGroup
	for range flows {
		wg.Go(func() {
			a := newAttempt(cfg)
			cb, err := LoginHeadless(t.Context(), e.browser(t), a.url, "bob", "builder")
			if err != nil {
				t.Errorf("login: %v", err)
				return
			}
			tok, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code"), oauth2.VerifierOption(a.verifier))
			if err != nil {
				t.Errorf("exchange: %v", err)
				return
			}
			for range 2 {
				if tok, err = e.refresh(t, cfg, tok.RefreshToken); err != nil {
					t.Errorf("refresh: %v", err)
					return
				}
			}
			if got := e.userinfoStatus(t, tok.AccessToken); got != 200 {
				t.Errorf("userinfo status %d", got)
			}
			resp, err := e.srv.Client().Get(e.issuer + "/keys")
			if err != nil {
				t.Errorf("jwks: %v", err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if s := e.op.Stats(); s.AuthCodeGrants != flows || s.RefreshGrants != 2*flows || s.RefreshReuseDetected != 0 {
		t.Errorf("stats = %+v", s)
	}
}
