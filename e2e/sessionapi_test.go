package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// The session API (docs/sessions.md) on two replicas sharing one store: what one replica
// ends is ended on the other, its refresh tokens are revoked at the provider that issued
// them, and the event streams of the ended sessions are cut wherever they are open.

// device is one browser: its session cookie and the replica it talks to.
type device struct {
	base, cookie string
	events       *testenv.EventStream
}

// ownSessionKey gives the stack a session key of its own: the subject index is keyed by
// it, so a shared Redis (BFF_TEST_REDIS_URL) holding other tests' alice sessions does not
// mix them into this test's lists.
func ownSessionKey(o *testenv.Options) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	prev := o.Configure
	o.Configure = func(c *config.Config) {
		c.Session.Keys = []string{base64.StdEncoding.EncodeToString(key)}
		if prev != nil {
			prev(c)
		}
	}
}

// loginVia logs user in at provider idp ("" for the default) through the replica at
// base: the login starts there and the provider's answer is delivered there, so that
// replica makes the session. It returns the device, with its event stream open on base.
func loginVia(t *testing.T, e *testenv.Env, base, idp, user string) *device {
	t.Helper()
	c := e.NewClient(t)
	start := base + "/bff/login"
	if idp != "" {
		start += "?idp=" + url.QueryEscape(idp)
	}
	resp, err := c.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login at %s: %d", base, resp.StatusCode)
	}
	cb, err := demoop.LoginHeadless(t.Context(), &http.Client{CheckRedirect: testenv.NoRedirect},
		resp.Header.Get("Location"), user, testenv.Password(user))
	if err != nil {
		t.Fatalf("OP login: %v", err)
	}
	at, _ := url.Parse(base)
	cb.Scheme, cb.Host = at.Scheme, at.Host // the public URL names replica A; B answers it here
	if resp, err = c.Get(cb.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := testenv.FindCookie(resp, "__Host-bff")
	if resp.StatusCode != http.StatusFound || ck == nil {
		t.Fatalf("callback at %s: %d", base, resp.StatusCode)
	}
	d := &device{base: base, cookie: ck.Name + "=" + ck.Value}
	_, d.events = e.OpenEvents(t, base, d.cookie, nil)
	if d.events == nil {
		t.Fatal("no event stream")
	}
	d.events.Expect(t, "session", 5*time.Second)
	return d
}

// call sends an SPA's request (CSRF header, same-origin) with d's cookie to d's replica,
// or to base when given.
func (d *device) call(t *testing.T, e *testenv.Env, method, path, base string) *http.Response {
	t.Helper()
	if base == "" {
		base = d.base
	}
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", d.cookie)
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// status is the status of method path from d (to base, or d's replica).
func (d *device) status(t *testing.T, e *testenv.Env, method, path, base string) int {
	t.Helper()
	resp := d.call(t, e, method, path, base)
	resp.Body.Close()
	return resp.StatusCode
}

// Reasons a stream's ended event may carry here: a stream on another replica than the
// one that ended its session hears the store's announcement; the caller's own stream, on
// the replica that ended it, hears why (logout).
var (
	elsewhere = []string{"ended-elsewhere"}
	endedHere = []string{"logout"}
)

type listed struct {
	Handle  string `json:"handle"`
	Current bool   `json:"current"`
}

// sessions is GET /bff/sessions from d.
func (d *device) sessions(t *testing.T, e *testenv.Env) []listed {
	t.Helper()
	resp := d.call(t, e, http.MethodGet, "/bff/sessions", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /bff/sessions: %d", resp.StatusCode)
	}
	var l struct{ Sessions []listed }
	testenv.JSON(t, resp, &l)
	return l.Sessions
}

// accessToken is the access token d's session sends upstream.
func (d *device) accessToken(t *testing.T, e *testenv.Env) string {
	t.Helper()
	if s := d.status(t, e, http.MethodGet, "/api/whoami", ""); s != http.StatusOK {
		t.Fatalf("API call: %d", s)
	}
	seen := e.Upstream.Seen()
	return bearerOf(seen[len(seen)-1])
}

// accepted reports whether the provider at issuer still honours an access token: its
// userinfo answers 200 while the token's grant lives, and refuses it once its refresh
// token (the whole grant) was revoked.
func accepted(t *testing.T, issuer, token string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized, http.StatusForbidden: // the library answers 403 for a dead token
		return false
	}
	t.Fatalf("userinfo: %d", resp.StatusCode)
	return false
}

// handleOf is the handle of the session listed as current (or not) in l.
func handleOf(t *testing.T, l []listed, current bool) string {
	t.Helper()
	for _, s := range l {
		if s.Current == current && s.Handle != "" {
			return s.Handle
		}
	}
	t.Fatalf("no session with current=%v in %+v", current, l)
	return ""
}

// expectEnded waits for d's stream to carry ended with one of reasons and end cleanly,
// and checks that d's cookie is refused on every base.
func (d *device) expectEnded(t *testing.T, e *testenv.Env, reasons []string, bases ...string) {
	t.Helper()
	var end struct{ Reason string }
	d.events.Expect(t, "ended", 5*time.Second).Decode(t, &end)
	if !slices.Contains(reasons, end.Reason) {
		t.Fatalf("ended reason %q, want one of %q", end.Reason, reasons)
	}
	d.events.Ended(t, 5*time.Second)
	for _, b := range bases {
		if s := d.status(t, e, http.MethodGet, "/bff/user", b); s != http.StatusUnauthorized {
			t.Fatalf("the ended session's cookie at %s: %d, want 401", b, s)
		}
	}
}

// TestSessionAPIAcrossReplicas: alice on device 1 (replica A) and device 2 (replica B),
// each with an open event stream. From A she lists both (each replica marks its caller's
// own as current) and ends device 2's session by its handle: B's stream hears it, B
// refuses the cookie, and the provider revoked that session's refresh token, not
// device 1's. Then "sign out everywhere" from A, with a third session on B: every one of
// her sessions ends on both replicas, each refresh token revoked, each stream cut; bob's
// session and stream on B live on.
func TestSessionAPIAcrossReplicas(t *testing.T) {
	o := testenv.Options{}
	ownSessionKey(&o)
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	a, b := e.Server.URL, e.AddReplica(t).URL
	dev1, dev2 := loginVia(t, e, a, "", "alice"), loginVia(t, e, b, "", "alice")
	at1, at2 := dev1.accessToken(t, e), dev2.accessToken(t, e)

	fromA, fromB := dev1.sessions(t, e), dev2.sessions(t, e)
	if len(fromA) != 2 || len(fromB) != 2 {
		t.Fatalf("lists: from A %+v, from B %+v; want both sessions in each", fromA, fromB)
	}
	h1, h2 := handleOf(t, fromA, true), handleOf(t, fromA, false)
	if handleOf(t, fromB, true) != h2 || handleOf(t, fromB, false) != h1 {
		t.Fatalf("B marks the wrong session current: A %+v, B %+v", fromA, fromB)
	}

	revoked := e.OP.Stats().Revocations
	resp := dev1.call(t, e, http.MethodDelete, "/bff/sessions/"+h2, "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || testenv.FindCookie(resp, "__Host-bff") != nil {
		t.Fatalf("DELETE device 2's session from A: %d, cookie %v", resp.StatusCode, testenv.FindCookie(resp, "__Host-bff"))
	}
	dev2.expectEnded(t, e, elsewhere, b, a)
	if accepted(t, e.OPServer.URL, at2) || !accepted(t, e.OPServer.URL, at1) {
		t.Fatal("device 2's grant must be revoked at the provider, and device 1's not")
	}
	if got := e.OP.Stats().Revocations - revoked; got != 1 {
		t.Fatalf("%d revocations at the provider, want 1", got)
	}
	if dev1.status(t, e, http.MethodGet, "/bff/user", b) != http.StatusOK || len(dev1.sessions(t, e)) != 1 {
		t.Fatal("device 1's session must live on, alone in the list")
	}

	dev3, bob := loginVia(t, e, b, "", "alice"), loginVia(t, e, b, "", "bob")
	at3, atBob := dev3.accessToken(t, e), bob.accessToken(t, e)
	revoked = e.OP.Stats().Revocations
	resp = dev1.call(t, e, http.MethodPost, "/bff/logout?everywhere=1", "")
	resp.Body.Close()
	if ck := testenv.FindCookie(resp, "__Host-bff"); resp.StatusCode != http.StatusOK || ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("sign out everywhere: %d, cookie %v; want 200 clearing the cookie", resp.StatusCode, ck)
	}
	dev1.expectEnded(t, e, endedHere, a, b)
	dev3.expectEnded(t, e, elsewhere, a, b)
	if accepted(t, e.OPServer.URL, at1) || accepted(t, e.OPServer.URL, at3) {
		t.Fatal("every signed-out session's grant must be revoked at the provider")
	}
	if got := e.OP.Stats().Revocations - revoked; got != 2 {
		t.Fatalf("%d revocations at the provider, want 2", got)
	}
	bob.events.None(t, 300*time.Millisecond)
	if bob.status(t, e, http.MethodGet, "/bff/user", a) != http.StatusOK || !accepted(t, e.OPServer.URL, atBob) {
		t.Fatal("bob's session must live on")
	}
}

// TestSignOutEverywhereStaysAtItsProvider: the same sub at two providers is two people.
// Alice of provider a signs out everywhere on replica A: her sessions on both replicas
// end; alice of provider b, on replica B, is neither listed, nor ended, nor revoked.
func TestSignOutEverywhereStaysAtItsProvider(t *testing.T) {
	o := testenv.Options{}
	ownSessionKey(&o)
	testenv.SharedRedis(t, &o)
	e, pb := testenv.StartTwoProviders(t, o)
	a, b := e.Server.URL, e.AddReplica(t).URL
	atA1, atA2 := loginVia(t, e, a, "a", "alice"), loginVia(t, e, b, "a", "alice")
	atB := loginVia(t, e, b, "b", "alice")
	tokB := atB.accessToken(t, e)

	if l := atA1.sessions(t, e); len(l) != 2 {
		t.Fatalf("a's alice lists %+v; want her two sessions, not b's alice's", l)
	}
	bHandle := handleOf(t, atB.sessions(t, e), true)
	if s := atA1.status(t, e, http.MethodDelete, "/bff/sessions/"+bHandle, ""); s != http.StatusNotFound {
		t.Fatalf("a's alice ending b's alice's session: %d, want 404", s)
	}
	revokedB := pb.OP.Stats().Revocations
	if s := atA1.status(t, e, http.MethodPost, "/bff/logout?everywhere=1", ""); s != http.StatusOK {
		t.Fatalf("sign out everywhere: %d", s)
	}
	atA1.expectEnded(t, e, endedHere, a, b)
	atA2.expectEnded(t, e, elsewhere, a, b)
	atB.events.None(t, 300*time.Millisecond)
	if atB.status(t, e, http.MethodGet, "/bff/user", a) != http.StatusOK || !accepted(t, pb.Server.URL, tokB) ||
		pb.OP.Stats().Revocations != revokedB {
		t.Fatal("b's alice must live on, her token unrevoked")
	}
}
