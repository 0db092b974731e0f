package e2e

import (
	"net/http"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

const newKey = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleSE=" // 32 bytes

// userAt calls /bff/user at base with cookie value v, returning the status and the
// re-issued session cookie, if any.
func userAt(t *testing.T, e *testenv.Env, base, v string) (int, *http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/bff/user", nil)
	req.Header.Set("X-CSRF", "1")
	req.AddCookie(&http.Cookie{Name: "__Host-bff", Value: v})
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, testenv.FindCookie(resp, "__Host-bff")
}

// TestKeyRotationKeepsSessions follows the documented procedure: add the new key first
// (every replica), then drop the old one. Sessions and cookies sealed with the old key
// keep working after the new key is added and are re-sealed with it on use, so dropping
// the old key later logs nobody out who came back in between.
func TestKeyRotationKeepsSessions(t *testing.T) {
	var o testenv.Options
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	old := testenv.FindCookie(e.Login(t, nil, "alice", "/"), "__Host-bff").Value

	both := e.AddReplicaWith(t, func(c *config.Config) { c.Session.Keys = []string{newKey, c.Session.Keys[0]} })
	status, reissued := userAt(t, e, both.URL, old)
	if status != http.StatusOK || reissued == nil || reissued.Value == old {
		t.Fatalf("with both keys: %d, re-issued cookie %v", status, reissued)
	}
	if !reissued.HttpOnly || !reissued.Secure || reissued.MaxAge <= 0 {
		t.Fatalf("re-issued cookie attributes: %+v", reissued)
	}
	// A proxied API call re-seals too (the cookie is added before the upstream answers).
	req, _ := http.NewRequest(http.MethodGet, both.URL+"/api/x", nil)
	req.Header.Set("X-CSRF", "1")
	req.AddCookie(&http.Cookie{Name: "__Host-bff", Value: old})
	api, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	api.Body.Close()
	if api.StatusCode != http.StatusOK || testenv.FindCookie(api, "__Host-bff") == nil {
		t.Fatalf("API call with an old-key cookie: %d, re-issued %v", api.StatusCode, testenv.FindCookie(api, "__Host-bff"))
	}
	if status, again := userAt(t, e, both.URL, reissued.Value); status != http.StatusOK || again != nil {
		t.Fatalf("new-key cookie: %d, re-issued again: %v", status, again)
	}

	onlyNew := e.AddReplicaWith(t, func(c *config.Config) { c.Session.Keys = []string{newKey} })
	if status, _ := userAt(t, e, onlyNew.URL, reissued.Value); status != http.StatusOK {
		t.Fatalf("after dropping the old key, the re-sealed session: %d (record not re-sealed?)", status)
	}
	if status, _ := userAt(t, e, onlyNew.URL, old); status != http.StatusUnauthorized {
		t.Fatalf("after dropping the old key, an old cookie: %d, want 401", status)
	}
}
