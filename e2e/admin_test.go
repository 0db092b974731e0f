package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestAdminKillSwitchAcrossReplicas: alice has two sessions; one has an event stream
// open on replica B, which has also cached it. One DELETE on replica A's admin listener
// ends both: the stream on B gets `ended` and ends, B refuses the session at once (its
// cached copy dropped by the store's announcement), and the provider has revoked both
// grants (their access tokens are no longer active at its introspection endpoint).
func TestAdminKillSwitchAcrossReplicas(t *testing.T) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	token := base64.RawURLEncoding.EncodeToString(secret)
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32) // a session key of its own: a shared Redis's other alice sessions stay out
	_, _ = rand.Read(key)
	o := testenv.Options{Configure: func(c *config.Config) {
		c.Server.AdminTokenFile = file
		c.Session.Keys = []string{base64.StdEncoding.EncodeToString(key)}
	}}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	b := e.AddReplica(t)
	c1, c2 := e.NewClient(t), e.NewClient(t)
	e.Login(t, c1, "alice", "/")
	e.Login(t, c2, "alice", "/")
	access := []string{apiBearer(t, e, c1), apiBearer(t, e, c2)}
	for _, at := range access {
		if !introspectActive(t, e, at) {
			t.Fatal("a fresh access token is not active at the provider")
		}
	}
	// B serves the session and keeps a copy, and streams its events.
	if st := userStatusAt(t, e, b.URL, e.SessionCookies(c1)); st != http.StatusOK {
		t.Fatalf("/bff/user on B before: %d", st)
	}
	_, s := e.OpenEvents(t, b.URL, e.SessionCookies(c1), nil)
	s.Expect(t, "session", 5*time.Second)

	admin := httptest.NewServer(e.BFF.AdminHandler()) // replica A's admin listener
	t.Cleanup(admin.Close)
	var sub struct{ Sub string }
	testenv.JSON(t, e.Do(t, c1, http.MethodGet, "/bff/user", nil), &sub)
	req, _ := http.NewRequest(http.MethodDelete, admin.URL+"/admin/subjects/"+url.PathEscape(sub.Sub)+"/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Ended, Revoked, RevokeFailed int }
	testenv.JSON(t, resp, &got)
	if resp.StatusCode != http.StatusOK || got.Ended != 2 || got.Revoked != 2 || got.RevokeFailed != 0 {
		t.Fatalf("DELETE on A's admin listener: %d %+v, want 2 ended and revoked", resp.StatusCode, got)
	}

	var end struct{ Reason string }
	s.Expect(t, "ended", 5*time.Second).Decode(t, &end)
	if end.Reason != "ended-elsewhere" { // B learnt it from the store's announcement
		t.Fatalf("B's stream: reason %q", end.Reason)
	}
	s.Ended(t, 5*time.Second)
	for i, c := range []*http.Client{c1, c2} {
		if st := userStatusAt(t, e, b.URL, e.SessionCookies(c)); st != http.StatusUnauthorized {
			t.Fatalf("session %d on B after the kill-switch: %d, want 401", i+1, st)
		}
		if st := e.UserStatus(t, c); st != http.StatusUnauthorized {
			t.Fatalf("session %d on A after the kill-switch: %d, want 401", i+1, st)
		}
	}
	for i, at := range access {
		if introspectActive(t, e, at) {
			t.Fatalf("session %d's grant is still active at the provider", i+1)
		}
	}
	if v := testenv.MetricValue(t, e.Scrape(t), `bff_sessions_ended_total{reason="admin"}`); v != "2" {
		t.Fatalf(`A's bff_sessions_ended_total{reason="admin"} = %s, want 2`, v)
	}
}

// apiBearer calls the API through c and returns the access token the upstream received
// (the last request it saw).
func apiBearer(t *testing.T, e *testenv.Env, c *http.Client) string {
	t.Helper()
	resp := e.Do(t, c, http.MethodGet, "/api/whoami", nil)
	resp.Body.Close()
	seen := e.Upstream.Seen()
	if resp.StatusCode != http.StatusOK || len(seen) == 0 {
		t.Fatalf("API call: %d", resp.StatusCode)
	}
	return bearerOf(seen[len(seen)-1])
}

// introspectActive asks the provider (RFC 7662) whether the access token is active.
func introspectActive(t *testing.T, e *testenv.Env, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.OPServer.URL+"/oauth/introspect",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testenv.ClientID, testenv.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
		t.Fatalf("introspection: %d", resp.StatusCode)
	}
	return r.Active
}

// userStatusAt is GET /bff/user's status at base with the Cookie header cookie.
func userStatusAt(t *testing.T, e *testenv.Env, base, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/bff/user", nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set("Cookie", cookie)
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
