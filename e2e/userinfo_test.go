package e2e

import (
	"net/http"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// aliceSub is alice's subject at the demo OP (demoop.DefaultUsers).
const aliceSub = "5b0a2c1e-7d4f-4a8e-9c1b-a11ce0000001"

// TestUserInfoClaimsFollowTheProvider: with oidc.userInfo the session shows the claims
// the provider's UserInfo endpoint answers — at login, and after a refresh once they
// changed at the provider (the demo OP's ID tokens never carry given_name: only UserInfo
// can have brought it).
func TestUserInfoClaimsFollowTheProvider(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.OIDC.UserInfo = true }})
	e.OP.SetUserinfoClaims(aliceSub, map[string]any{"given_name": "Alice"})
	e.Login(t, nil, "alice", "/")
	if got := givenName(t, e); got != "Alice" {
		t.Fatalf("given_name after the login %q, want Alice (from UserInfo)", got)
	}

	e.OP.SetUserinfoClaims(aliceSub, map[string]any{"given_name": "Alicia"})
	forceRefresh(t, e, e.OP)
	if got := givenName(t, e); got != "Alicia" {
		t.Fatalf("given_name after the refresh %q, want the provider's new Alicia", got)
	}
	if v := testenv.MetricValue(t, e.Scrape(t), `bff_userinfo_total{outcome="ok",provider="default"}`); v != "2" {
		t.Fatalf("bff_userinfo_total{outcome=ok} = %s, want 2 (login and refresh)", v)
	}
}

// givenName is the given_name claim /bff/user shows.
func givenName(t *testing.T, e *testenv.Env) string {
	t.Helper()
	var u struct {
		Claims map[string]any `json:"claims"`
	}
	testenv.JSON(t, e.Do(t, nil, http.MethodGet, "/bff/user", nil), &u)
	s, _ := u.Claims["given_name"].(string)
	return s
}
