package handler_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// loginCookieName is the login-in-progress cookie: host-only, it cannot be planted from a
// sibling host.
const loginCookieName = "__Host-bff-login"

// jarCookie is the cookie called name that c would send to the BFF's callback, or nil.
func jarCookie(e *testenv.Env, c *http.Client, name string) *http.Cookie {
	for _, ck := range c.Jar.Cookies(callbackURL(e)) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func callbackURL(e *testenv.Env) *url.URL {
	return &url.URL{Scheme: "https", Host: e.Server.Listener.Addr().String(), Path: "/bff/callback"}
}

// loginHandles are the handles in c's login cookie.
func loginHandles(t *testing.T, e *testenv.Env, c *http.Client) []string {
	t.Helper()
	ck := jarCookie(e, c, loginCookieName)
	if ck == nil {
		return nil
	}
	return strings.Split(ck.Value, ".")
}

// getWith sends GET target with exactly the given cookies (no jar): a browser in which the
// test controls what is sent.
func getWith(t *testing.T, e *testenv.Env, target string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	c := e.NewClient(t)
	c.Jar = nil
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// userStatus is /bff/user's status for a request carrying only the session cookie value.
func userStatus(t *testing.T, e *testenv.Env, session string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL("/bff/user"), nil)
	req.Header.Set("X-CSRF", "1")
	req.AddCookie(&http.Cookie{Name: "__Host-bff", Value: session})
	c := e.NewClient(t)
	c.Jar = nil
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// wantRefused checks a callback answer: 400 "Sign-in expired" page with a retry link, and
// no session cookie.
func wantRefused(t *testing.T, resp *http.Response) {
	t.Helper()
	body := testenv.ReadAll(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "Sign-in expired") || !strings.Contains(body, `href="/bff/login"`) {
		t.Fatalf("callback: %d %s, want the 400 Sign-in expired page: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if c := testenv.FindCookie(resp, "__Host-bff"); c != nil && c.MaxAge >= 0 {
		t.Fatal("the refused callback set a session cookie")
	}
}

// TestLoginCookieIsHostOnlyAndHoldsOnlyAHandle: the login cookie is __Host- (Secure,
// HttpOnly, Path=/, no Domain) with SameSite=Lax, and holds one opaque random handle:
// neither the state, nor the returnTo, nor anything sealed.
func TestLoginCookieIsHostOnlyAndHoldsOnlyAHandle(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	resp, err := e.NewClient(t).Get(e.URL("/bff/login?returnTo=" + url.QueryEscape("/secret/place")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var logins []*http.Cookie
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "login") {
			logins = append(logins, c)
		}
	}
	if len(logins) != 1 || logins[0].Name != loginCookieName {
		t.Fatalf("login cookies set: %v, want exactly %s", logins, loginCookieName)
	}
	c := logins[0]
	if !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode ||
		c.MaxAge != int(e.Config.Session.LoginTimeout/time.Second) {
		t.Fatalf("login cookie attributes: %+v", c)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	if len(c.Value) != 43 || strings.Contains(c.Value, state) || strings.Contains(c.Value, "secret") {
		t.Fatalf("login cookie value %q is not one 256-bit handle", c.Value)
	}
}

// TestCallbackRefusesALoginStartedInAnotherBrowser is login CSRF: the attacker starts a
// login, signs in at the IdP as themselves and sends the victim to the callback URL with
// their code and state. Whatever login cookie the victim's browser holds (none, its own, a
// copy of the attacker's under the old __Secure- name, or the attacker's beside its own),
// the callback refuses, and the victim is not logged in.
func TestCallbackRefusesALoginStartedInAnotherBrowser(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	tests := []struct {
		name    string
		cookies func(attacker, victim *http.Cookie) []*http.Cookie
	}{
		{name: "victim has no login cookie", cookies: func(_, _ *http.Cookie) []*http.Cookie { return nil }},
		{name: "victim has its own pending login", cookies: func(_, v *http.Cookie) []*http.Cookie { return []*http.Cookie{v} }},
		{name: "attacker's handle planted under the old name", cookies: func(a, v *http.Cookie) []*http.Cookie {
			return []*http.Cookie{v, {Name: "__Secure-bff-login-0", Value: a.Value}}
		}},
		{name: "a second login cookie beside the victim's", cookies: func(a, v *http.Cookie) []*http.Cookie {
			return []*http.Cookie{v, {Name: loginCookieName, Value: a.Value}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attacker := e.NewClient(t)
			cb := e.Authorize(t, attacker, "bob", "/")
			victim := e.NewClient(t)
			if r, err := victim.Get(e.URL("/bff/login")); err != nil {
				t.Fatal(err)
			} else {
				r.Body.Close()
			}
			planted := tc.cookies(jarCookie(e, attacker, loginCookieName), jarCookie(e, victim, loginCookieName))
			resp := getWith(t, e, cb.String(), planted...)
			wantRefused(t, resp)
			if n := e.OP.Stats().AuthCodeGrants; n != 0 {
				t.Fatalf("the attacker's code was redeemed (%d grants)", n)
			}
		})
	}
}

// TestCallbackReplayedAfterSuccessRefused: a pending login is single use, even for the
// browser that started it (its handle still in a copy of its cookie).
func TestCallbackReplayedAfterSuccessRefused(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	cb := e.Authorize(t, c, "alice", "/")
	handle := jarCookie(e, c, loginCookieName)
	first := getWith(t, e, cb.String(), handle)
	first.Body.Close()
	if first.StatusCode != http.StatusFound {
		t.Fatalf("first callback: %d", first.StatusCode)
	}
	if ck := testenv.FindCookie(first, loginCookieName); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("the used handle was not dropped from the login cookie: %v", ck)
	}
	wantRefused(t, getWith(t, e, cb.String(), handle))
}

// TestOldestPendingLoginIsDropped: past session.maxPendingLogins the oldest pending login
// of the browser can no longer complete; the newest ones can.
func TestOldestPendingLoginIsDropped(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.Session.MaxPendingLogins = 2 }})
	c := e.NewClient(t)
	oldest := e.Authorize(t, c, "alice", "/one")
	middle := e.Authorize(t, c, "alice", "/two")
	newest := e.Authorize(t, c, "alice", "/three")
	if n := len(loginHandles(t, e, c)); n != 2 {
		t.Fatalf("%d handles, want 2", n)
	}
	cookie := jarCookie(e, c, loginCookieName)
	wantRefused(t, getWith(t, e, oldest.String(), cookie))
	for _, cb := range []*url.URL{newest, middle} {
		r, err := c.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusFound {
			t.Fatalf("a kept pending login: %d", r.StatusCode)
		}
	}
}

// TestPendingLoginExpires: a login not completed within session.loginTimeout is gone from
// the store, even if the browser still sends its handle.
func TestPendingLoginExpires(t *testing.T) {
	mr := miniredis.RunT(t)
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", "redis://"+mr.Addr()+"/0"
	}})
	c := e.NewClient(t)
	cb := e.Authorize(t, c, "alice", "/")
	mr.FastForward(e.Config.Session.LoginTimeout + time.Second)
	wantRefused(t, getWith(t, e, cb.String(), jarCookie(e, c, loginCookieName)))
}

// TestLongReturnToKeepsTheCookieHeaderSmall: returnTo lives in the store, so 20 pending
// logins with 2 KiB return paths keep the Cookie header under 1 KiB (with the paths in
// cookies it would be tens of KiB: a 431 at proxies and at the BFF), and they complete.
func TestLongReturnToKeepsTheCookieHeaderSmall(t *testing.T) {
	const logins = 20
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Session.MaxPendingLogins = logins
		c.RateLimit.Burst = 4 * logins // one client IP starts all the logins and callbacks
	}})
	c := e.NewClient(t)
	long := func(i int) string { return "/deep/" + strings.Repeat("x", 2000) + "?n=" + string(rune('a'+i)) }
	var cbs []*url.URL
	for i := range logins {
		cbs = append(cbs, e.Authorize(t, c, "alice", long(i)))
	}
	header := 0
	for _, ck := range c.Jar.Cookies(callbackURL(e)) {
		header += len(ck.Name) + 1 + len(ck.Value) + 2
	}
	if header > 1024 {
		t.Fatalf("the Cookie header to /bff/callback is %d bytes after %d logins, want at most 1024", header, logins)
	}
	for _, i := range []int{0, logins - 1} {
		r, err := c.Get(cbs[i].String())
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != long(i) {
			t.Fatalf("login %d: %d to %.40q…", i, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// sessionOf is the session cookie a successful callback set.
func sessionOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	c := testenv.FindCookie(resp, "__Host-bff")
	if resp.StatusCode != http.StatusFound || c == nil || c.Value == "" {
		t.Fatalf("callback: %d with session cookie %v, want a 302 that starts a session", resp.StatusCode, c)
	}
	return c
}

// TestReLoginEndsTheSessionPresentedAtLogin: with the default SameSite=Strict, the callback
// (a cross-site navigation from the IdP) does not see the browser's session cookie, but
// /bff/login (same-origin) does; the pending login records that session and the callback
// ends it, so a re-login leaves no orphaned session that a stolen cookie could still use.
func TestReLoginEndsTheSessionPresentedAtLogin(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	old := sessionOf(t, e.Login(t, c, "alice", "/"))
	cb := e.Authorize(t, c, "bob", "/") // the jar sends the session cookie to /bff/login
	resp := getWith(t, e, cb.String(), jarCookie(e, c, loginCookieName))
	resp.Body.Close()
	current := sessionOf(t, resp)
	if got := userStatus(t, e, old.Value); got != http.StatusUnauthorized {
		t.Fatalf("the session presented at /bff/login still works after the re-login: %d", got)
	}
	if got := userStatus(t, e, current.Value); got != http.StatusOK {
		t.Fatalf("the new session: %d", got)
	}
}

// TestPendingLoginEndsOnlyItsOwnBrowsersSession: the session recorded at /bff/login can be
// ended only by the callback of the browser that presented it. An attacker who has the
// victim's callback URL (code and state) and completes it in their own browser is refused,
// and the victim's session lives on; a login in a browser that had no session ends none.
func TestPendingLoginEndsOnlyItsOwnBrowsersSession(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	victim := e.NewClient(t)
	victims := sessionOf(t, e.Login(t, victim, "alice", "/"))
	stolen := e.Authorize(t, victim, "alice", "/") // records the victim's session

	attacker := e.NewClient(t)
	attackers := sessionOf(t, e.Login(t, attacker, "bob", "/"))
	if r, err := attacker.Get(e.URL("/bff/login")); err != nil {
		t.Fatal(err)
	} else {
		r.Body.Close()
	}
	wantRefused(t, getWith(t, e, stolen.String(), jarCookie(e, attacker, loginCookieName)))
	if got := userStatus(t, e, victims.Value); got != http.StatusOK {
		t.Fatalf("the victim's session after the attacker used their callback URL: %d, want 200", got)
	}

	fresh := e.NewClient(t)
	sessionOf(t, e.Login(t, fresh, "alice", "/"))
	for who, s := range map[string]*http.Cookie{"victim": victims, "attacker": attackers} {
		if got := userStatus(t, e, s.Value); got != http.StatusOK {
			t.Fatalf("the %s's session after a login in another browser: %d, want 200", who, got)
		}
	}
}

// TestCallbackEndsTheSessionItSees: with SameSite=Lax the callback sees the browser's
// session cookie; it ends that session too, even if /bff/login did not see it.
func TestCallbackEndsTheSessionItSees(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.Session.SameSite = "lax" }})
	c := e.NewClient(t)
	old := sessionOf(t, e.Login(t, c, "alice", "/"))
	other := e.NewClient(t) // /bff/login without the session cookie
	cb := e.Authorize(t, other, "alice", "/")
	resp := getWith(t, e, cb.String(), jarCookie(e, other, loginCookieName), old)
	resp.Body.Close()
	sessionOf(t, resp)
	if got := userStatus(t, e, old.Value); got != http.StatusUnauthorized {
		t.Fatalf("the session the callback saw still works: %d", got)
	}
}

// TestLeakedStateCannotBurnAPendingLogin: someone who learns a victim's callback URL
// (its state, e.g. from a log) and presents a login cookie of their own is refused, and
// the victim's pending login is left in place: the victim still completes the sign-in.
// (The pending login used to be deleted before the handle was compared.)
func TestLeakedStateCannotBurnAPendingLogin(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	victim := e.NewClient(t)
	cb := e.Authorize(t, victim, "alice", "/")
	attacker := e.NewClient(t)
	if r, err := attacker.Get(e.URL("/bff/login")); err != nil {
		t.Fatal(err)
	} else {
		r.Body.Close()
	}
	wantRefused(t, getWith(t, e, cb.String(), jarCookie(e, attacker, loginCookieName)))
	resp := getWith(t, e, cb.String(), jarCookie(e, victim, loginCookieName))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || testenv.FindCookie(resp, "__Host-bff") == nil {
		t.Fatalf("the victim's own callback after the attacker's try: %d, want 302 with a session", resp.StatusCode)
	}
}
