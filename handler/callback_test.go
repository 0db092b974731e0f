package handler_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/testenv"
)

// TestCallbackRefusesBadResponses: every malformed or forged authorization response gets a
// 4xx HTML page and no session.
func TestCallbackRefusesBadResponses(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	tests := []struct {
		name   string
		mutate func(q url.Values)
		status int
		retry  bool
	}{
		{name: "missing state", mutate: func(q url.Values) { q.Del("state") }, status: 400, retry: true},
		{name: "unknown state", mutate: func(q url.Values) { q.Set("state", otherState(q.Get("state"))) }, status: 400, retry: true},
		{name: "access denied", mutate: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }, status: 403, retry: true},
		{name: "issuer mix-up (RFC 9207)", mutate: func(q url.Values) { q.Set("iss", "https://evil.example") }, status: 400, retry: true},
		{name: "missing code", mutate: func(q url.Values) { q.Del("code") }, status: 400, retry: true},
		{name: "forged code", mutate: func(q url.Values) { q.Set("code", "forged") }, status: 400, retry: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.NewClient(t)
			cb := e.Authorize(t, c, "alice", "/")
			q := cb.Query()
			tc.mutate(q)
			cb.RawQuery = q.Encode()
			resp, err := c.Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d (%s), want %d HTML: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			}
			if tc.retry && !strings.Contains(body, `href="/bff/login"`) {
				t.Fatalf("no try-again link: %s", body)
			}
			if testenv.FindCookie(resp, "__Host-bff") != nil {
				t.Fatal("a session cookie was set")
			}
			if r := e.Do(t, c, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("/bff/user: %d, want 401", r.StatusCode)
			}
		})
	}
}

// otherState returns a state of the same shape that always differs from s: replacing a
// character with a fixed one would be a no-op whenever s already starts with it (1 run in 64).
func otherState(s string) string {
	if s == "" {
		return "x"
	}
	first := byte('A')
	if s[0] == first {
		first = 'B'
	}
	return string(first) + s[1:]
}

// TestCallbackReplayRefused: the same authorization response used twice — with the login
// cookie the browser still had — starts no second session.
func TestCallbackReplayRefused(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	cb := e.Authorize(t, c, "alice", "/")
	loginCookie := jarCookie(e, c, loginCookieName)
	if loginCookie == nil {
		t.Fatal("no login cookie after /bff/login")
	}
	first, err := c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if first.StatusCode != http.StatusFound {
		t.Fatalf("first callback: %d", first.StatusCode)
	}
	// An attacker replays the response with a copy of the login cookie.
	req, _ := http.NewRequest(http.MethodGet, cb.String(), nil)
	req.AddCookie(loginCookie)
	replay, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	replay.Body.Close()
	if replay.StatusCode != http.StatusBadRequest || testenv.FindCookie(replay, "__Host-bff") != nil {
		t.Fatalf("replayed callback: %d, cookie %v", replay.StatusCode, testenv.FindCookie(replay, "__Host-bff"))
	}
}

// TestLoginRefusesOpenRedirects: returnTo values that would leave the origin or point into
// /bff/ get a 400 page before anything is sent to the IdP.
func TestLoginRefusesOpenRedirects(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	for _, rt := range []string{
		"https://evil.example", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example",
		"javascript:alert(1)", "/bff/logout", "/app\r\nLocation: https://evil.example", "/a\x01b",
	} {
		t.Run(rt, func(t *testing.T) {
			resp, err := e.NewClient(t).Get(e.URL("/bff/login?returnTo=" + url.QueryEscape(rt)))
			if err != nil {
				t.Fatal(err)
			}
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
	}
}

// TestNewSessionIDAtEveryLogin stops session fixation: a second login replaces the
// browser's session id, and the old id no longer opens anything.
func TestNewSessionIDAtEveryLogin(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	first := testenv.FindCookie(e.Login(t, nil, "alice", "/"), "__Host-bff")
	second := testenv.FindCookie(e.Login(t, nil, "bob", "/"), "__Host-bff")
	if first == nil || second == nil || first.Value == second.Value {
		t.Fatal("the second login did not issue a new session cookie")
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("/bff/user"), nil)
	req.Header.Set("X-CSRF", "1")
	req.AddCookie(&http.Cookie{Name: "__Host-bff", Value: first.Value})
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old session id still works: %d", resp.StatusCode)
	}
}

// TestTokenEndpointDownDuringCallback: the IdP failing the code exchange is a 502 page.
func TestTokenEndpointDownDuringCallback(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	cb := e.Authorize(t, e.Client, "alice", "/")
	e.OP.SetTokenEndpointStatus(http.StatusServiceUnavailable)
	defer e.OP.SetTokenEndpointStatus(0)
	resp, err := e.Client.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || testenv.FindCookie(resp, "__Host-bff") != nil {
		t.Fatalf("status %d, want 502 and no session", resp.StatusCode)
	}
}

// TestLoginCookiesAreCapped: abandoned logins cannot pile cookies up (others have shipped
// 431s): a browser holds ONE login cookie with at most session.maxPendingLogins handles,
// and two tabs logging in at once both succeed.
func TestLoginCookiesAreCapped(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	for i := 0; i < 12; i++ {
		r, err := c.Get(e.URL("/bff/login"))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	if n := len(loginHandles(t, e, c)); n != e.Config.Session.MaxPendingLogins {
		t.Fatalf("%d pending logins after 12 abandoned logins, want the cap %d", n, e.Config.Session.MaxPendingLogins)
	}
	tabs := e.NewClient(t)
	first := e.Authorize(t, tabs, "alice", "/one")
	second := e.Authorize(t, tabs, "alice", "/two")
	for _, tc := range []struct {
		cb   *url.URL
		want string
	}{{cb: second, want: "/two"}, {cb: first, want: "/one"}} {
		r, err := tabs.Get(tc.cb.String())
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != tc.want {
			t.Fatalf("tab returning to %s: %d %q", tc.want, r.StatusCode, r.Header.Get("Location"))
		}
	}
}
