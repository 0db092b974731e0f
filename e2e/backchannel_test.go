package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/testenv"
)

// TestBackchannelLogoutEndsTheSession: a valid logout token ends the session of its sid;
// replaying it is refused.
func TestBackchannelLogoutEndsTheSession(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	sub, sid := e.UserSID(t, c)
	other := e.NewClient(t)
	e.Login(t, other, "bob", "/")
	tok, err := e.OP.LogoutToken(testenv.ClientID, sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.PostLogoutToken(t, tok)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("back-channel logout: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if got := e.UserStatus(t, c); got != http.StatusUnauthorized {
		t.Fatalf("alice's session survived: %d", got)
	}
	if got := e.UserStatus(t, other); got != http.StatusOK {
		t.Fatalf("bob's session was ended too: %d", got)
	}
	if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed jti: %d, want 400", resp.StatusCode)
	}
}

// TestBackchannelLogoutBySubject: a token with only sub ends every session of that user.
func TestBackchannelLogoutBySubject(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	a1, a2 := e.NewClient(t), e.NewClient(t)
	sub, _ := e.UserSID(t, a1)
	e.Login(t, a2, "alice", "/")
	tok, err := e.OP.LogoutToken(testenv.ClientID, sub, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout: %d", resp.StatusCode)
	}
	if e.UserStatus(t, a1) != http.StatusUnauthorized || e.UserStatus(t, a2) != http.StatusUnauthorized {
		t.Fatal("a session of the subject survived")
	}
}

// TestBackchannelLogoutWithSIDOfAnotherSubjectEndsNothing: a logout token naming alice's
// sid but another sub matches no session (both must match, Back-Channel Logout 1.0
// §2.4): alice's session survives and the answer is still 200 (§2.8: no session to end
// is a success). The same sid with her sub ends it.
func TestBackchannelLogoutWithSIDOfAnotherSubjectEndsNothing(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	sub, sid := e.UserSID(t, c)
	bob := e.NewClient(t)
	e.Login(t, bob, "bob", "/")
	var u struct {
		Sub string `json:"sub"`
	}
	testenv.JSON(t, e.Do(t, bob, http.MethodGet, "/bff/user", nil), &u)
	bobSub := u.Sub
	if bobSub == "" || bobSub == sub {
		t.Fatalf("bob's subject %q, alice's %q", bobSub, sub)
	}
	for _, other := range []string{bobSub, "someone-else"} {
		tok, err := e.OP.LogoutToken(testenv.ClientID, other, sid)
		if err != nil {
			t.Fatal(err)
		}
		if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusOK {
			t.Fatalf("logout token with alice's sid and sub %q: %d, want 200", other, resp.StatusCode)
		}
		if got := e.UserStatus(t, c); got != http.StatusOK {
			t.Fatalf("alice's session ended by a token for sub %q: %d", other, got)
		}
	}
	tok, err := e.OP.LogoutToken(testenv.ClientID, sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout token with alice's sid and sub: %d", resp.StatusCode)
	}
	if got := e.UserStatus(t, c); got != http.StatusUnauthorized {
		t.Fatalf("alice's session survived a token matching both: %d", got)
	}
	if got := e.UserStatus(t, bob); got != http.StatusOK {
		t.Fatalf("bob's session was ended: %d", got)
	}
}

// TestBackchannelLogoutRefusesForgeries: forged or malformed logout tokens end nothing.
func TestBackchannelLogoutRefusesForgeries(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	sub, sid := e.UserSID(t, c)
	now := time.Now()
	base := func() map[string]any {
		return map[string]any{
			"iss": e.OPServer.URL, "aud": testenv.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
			"jti": "jti-" + now.Format(time.RFC3339Nano), "sub": sub, "sid": sid,
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		}
	}
	tests := []struct {
		name   string
		edit   func(m map[string]any)
		forged string
	}{
		{name: "wrong audience", edit: func(m map[string]any) { m["aud"] = "someone-else" }},
		{name: "has a nonce", edit: func(m map[string]any) { m["nonce"] = "n" }},
		{name: "no events", edit: func(m map[string]any) { delete(m, "events") }},
		{name: "wrong issuer", edit: func(m map[string]any) { m["iss"] = "https://evil.example" }},
		{name: "no jti", edit: func(m map[string]any) { delete(m, "jti") }},
		{name: "iat older than oidc.maxTokenAge, exp still ahead (replay)", edit: func(m map[string]any) {
			m["iat"] = now.Add(-e.Config.OIDC.MaxTokenAge - 2*time.Minute).Unix()
		}},
		{name: "iat in the future beyond the clock skew", edit: func(m map[string]any) {
			m["iat"] = now.Add(5 * time.Minute).Unix()
		}},
		{name: "bad signature", forged: "flip"},
		{name: "not a JWT", forged: "not-a-jwt"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			m["jti"] = m["jti"].(string) + string(rune('a'+i))
			if tc.edit != nil {
				tc.edit(m)
			}
			tok, err := e.OP.SignJWT(m)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.forged {
			case "flip":
				parts := strings.Split(tok, ".")
				sig := []byte(parts[2])
				sig[5] ^= 0x02
				tok = parts[0] + "." + parts[1] + "." + string(sig)
			case "not-a-jwt":
				tok = "not-a-jwt"
			}
			if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if got := e.UserStatus(t, c); got != http.StatusOK {
				t.Fatalf("the session ended: %d", got)
			}
		})
	}
}

// metricOr0 is metricValue for a series that may not exist yet (a counter never
// incremented is not exposed).
func metricOr0(t *testing.T, text, series string) string {
	t.Helper()
	if !strings.Contains(text, series+" ") {
		return "0"
	}
	return testenv.MetricValue(t, text, series)
}

// TestBackchannelLogoutOfAnEndedSessionIsNotCountedAgain: the IdP sends a back-channel
// logout after an RP-initiated logout (the usual order), and may send one twice; the
// ended-sessions metric counts each session once, only when a logout really ended it,
// not for every logout that names a session already gone.
func TestBackchannelLogoutOfAnEndedSessionIsNotCountedAgain(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	backchannel := func(sub, sid string) {
		t.Helper()
		tok, err := e.OP.LogoutToken(testenv.ClientID, sub, sid)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.PostLogoutToken(t, tok); r.StatusCode != http.StatusOK {
			t.Fatalf("back-channel logout: %d", r.StatusCode)
		}
	}
	ended := func() (logout, bc string) {
		text := e.Scrape(t)
		return metricOr0(t, text, `bff_sessions_ended_total{reason="logout"}`),
			metricOr0(t, text, `bff_sessions_ended_total{reason="backchannel"}`)
	}

	// Logged out at the BFF first, then told by the IdP.
	c1 := e.NewClient(t)
	sub1, sid1 := e.UserSID(t, c1)
	if r := e.Do(t, c1, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	backchannel(sub1, sid1)
	if lo, bc := ended(); lo != "1" || bc != "0" {
		t.Fatalf("after a logout and a back-channel logout of the same session: logout=%s backchannel=%s, want 1 and 0", lo, bc)
	}

	// Two back-channel logouts (two tokens) for one live session.
	c2 := e.NewClient(t)
	sub2, sid2 := e.UserSID(t, c2)
	backchannel(sub2, sid2)
	backchannel(sub2, sid2)
	backchannel("", sid2)
	if _, bc := ended(); bc != "1" {
		t.Fatalf("three back-channel logouts of one session counted %s ended sessions, want 1", bc)
	}
}
