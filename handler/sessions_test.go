package handler_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

type listedSession struct {
	Handle  string `json:"handle"`
	Device  string `json:"device"`
	Current bool   `json:"current"`
}

func listSessions(t *testing.T, e *testenv.Env, cookie string) []listedSession {
	t.Helper()
	resp := call(t, e, http.MethodGet, "/bff/sessions", cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /bff/sessions = %d", resp.StatusCode)
	}
	var l struct {
		Sessions []listedSession `json:"sessions"`
	}
	testenv.JSON(t, resp, &l)
	return l.Sessions
}

func loginCookie(t *testing.T, e *testenv.Env, user string) string {
	t.Helper()
	ck := testenv.FindCookie(e.Login(t, e.NewClient(t), user, "/"), "__Host-bff")
	if ck == nil {
		t.Fatal("no session cookie after login")
	}
	return ck.Name + "=" + ck.Value
}

// The session list shows only the caller's sessions; a user ends another of their own
// sessions by its handle, never another user's; CSRF applies; sign out everywhere ends
// them all.
func TestSessionListEndAndEverywhere(t *testing.T) {
	// A session key of its own: the subject index names are keyed by it, so a shared
	// Redis (BFF_TEST_REDIS_URL) holding other tests' alice sessions does not mix them in.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Session.Keys = []string{base64.StdEncoding.EncodeToString(key)}
	}})
	a1, a2, b := loginCookie(t, e, "alice"), loginCookie(t, e, "alice"), loginCookie(t, e, "bob")
	list := listSessions(t, e, a1)
	if len(list) != 2 || list[0].Handle == "" || list[1].Handle == "" || list[0].Device == "" {
		t.Fatalf("alice's list = %+v; want her two sessions with handles and devices", list)
	}
	var other string
	for _, s := range list {
		if !s.Current {
			other = s.Handle
		}
	}
	if other == "" || list[0].Current == list[1].Current {
		t.Fatalf("exactly one listed session must be current: %+v", list)
	}
	bobs := listSessions(t, e, b)
	if len(bobs) != 1 {
		t.Fatalf("bob's list = %+v", bobs)
	}
	if resp := call(t, e, http.MethodDelete, "/bff/sessions/"+bobs[0].Handle, a1); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("alice ending bob's session = %d, want 404", resp.StatusCode)
	}
	if !sessionAlive(t, e, b) {
		t.Fatal("bob's session ended by alice")
	}
	req, _ := http.NewRequest(http.MethodDelete, e.URL("/bff/sessions/"+other), nil)
	req.Header.Set("Cookie", a1)
	if resp, err := e.NewClient(t).Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("DELETE without the CSRF header: %v %v, want 403", resp.StatusCode, err)
	}
	if resp := call(t, e, http.MethodDelete, "/bff/sessions/"+other, a1); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("ending alice's other session = %d, want 204", resp.StatusCode)
	}
	if sessionAlive(t, e, a2) || !sessionAlive(t, e, a1) {
		t.Fatal("the ended session lives on, or the caller's own ended")
	}
	a3 := loginCookie(t, e, "alice")
	if resp := call(t, e, http.MethodPost, "/bff/logout?everywhere=1", a1); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout everywhere = %d", resp.StatusCode)
	}
	if sessionAlive(t, e, a1) || sessionAlive(t, e, a3) || !sessionAlive(t, e, b) {
		t.Fatal("sign out everywhere must end alice's sessions and only hers")
	}
}
