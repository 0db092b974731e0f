package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/testenv"
)

// TestLoginUserLogout walks the whole core flow against the in-process OP: login →
// callback → /bff/user → API call with the bearer → logout with revocation and the IdP's
// end-session.
func TestLoginUserLogout(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	resp := e.Login(t, nil, "alice", "/app?tab=1")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app?tab=1" {
		t.Fatalf("callback: %d to %q, want 302 to /app?tab=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := testenv.FindCookie(resp, "__Host-bff")
	if ck == nil {
		t.Fatal("callback set no __Host-bff cookie")
	}
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("session cookie attributes: %+v", ck)
	}
	t.Logf("session cookie value: %d bytes", len(ck.Value))

	var user struct {
		Sub    string         `json:"sub"`
		Claims map[string]any `json:"claims"`
	}
	r := e.Do(t, nil, http.MethodGet, "/bff/user", nil)
	body := testenv.ReadAll(t, r)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/bff/user: %d %s", r.StatusCode, body)
	}
	decode(t, body, &user)
	if user.Sub == "" || user.Claims["email"] == nil {
		t.Fatalf("/bff/user = %s", body)
	}

	api := e.Do(t, nil, http.MethodGet, "/api/things", nil)
	apiBody := testenv.ReadAll(t, api)
	if api.StatusCode != http.StatusOK || !strings.Contains(apiBody, `"bearer":true`) {
		t.Fatalf("/api/things: %d %s", api.StatusCode, apiBody)
	}
	seen := e.Upstream.Seen()
	if rid := api.Header.Get("X-Request-Id"); rid == "" || seen[len(seen)-1].Get("X-Request-Id") != rid {
		t.Fatalf("request id %q not passed upstream (%q)", rid, seen[len(seen)-1].Get("X-Request-Id"))
	}
	bearer := strings.TrimPrefix(seen[len(seen)-1].Get("Authorization"), "Bearer ")
	if strings.Contains(body, bearer) || strings.Contains(body, "eyJ") {
		t.Fatalf("/bff/user leaks a token: %s", body)
	}

	out := e.Do(t, nil, http.MethodPost, "/bff/logout", nil)
	var logout struct {
		LogoutURL string `json:"logoutUrl"`
	}
	outBody := testenv.ReadAll(t, out)
	if out.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", out.StatusCode, outBody)
	}
	decode(t, outBody, &logout)
	lu, err := url.Parse(logout.LogoutURL)
	if err != nil || !strings.HasPrefix(logout.LogoutURL, e.OPServer.URL) || lu.Query().Get("id_token_hint") == "" {
		t.Fatalf("logoutUrl = %q, want the OP's end-session URL with id_token_hint", logout.LogoutURL)
	}
	if got := e.OP.Stats().Revocations; got != 1 {
		t.Fatalf("OP saw %d revocations, want 1", got)
	}
	if r := e.Do(t, nil, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/bff/user after logout: %d", r.StatusCode)
	}
	// The browser now navigates to the end-session URL: the OP ends its session and sends
	// it back to the post-logout URI.
	end, err := (&http.Client{CheckRedirect: testenv.NoRedirect}).Get(logout.LogoutURL)
	if err != nil {
		t.Fatal(err)
	}
	end.Body.Close()
	if e.OP.Stats().EndSessions != 1 {
		t.Fatalf("OP saw %d end-session requests, want 1 (status %d)", e.OP.Stats().EndSessions, end.StatusCode)
	}
}

func decode(t testing.TB, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}
