package handler_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/session"
)

// logoutLink is /bff/user's logoutUrl for the session behind cookie.
func logoutLink(t *testing.T, e *testenv.Env, cookie string) *url.URL {
	t.Helper()
	resp := call(t, e, http.MethodGet, "/bff/user", cookie)
	var u struct {
		LogoutURL string `json:"logoutUrl"`
	}
	testenv.JSON(t, resp, &u)
	lu, err := url.Parse(u.LogoutURL)
	if err != nil || lu.Path != "/bff/logout" {
		t.Fatalf("logoutUrl %q", u.LogoutURL)
	}
	return lu
}

// navigate sends GET path as a browser navigation would: no CSRF header, Sec-Fetch-Site
// as given ("" for a browser that does not send it), and the Cookie header as given.
func navigate(t *testing.T, e *testenv.Env, path, fetchSite, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func sessionAlive(t *testing.T, e *testenv.Env, cookie string) bool {
	t.Helper()
	resp := call(t, e, http.MethodGet, "/bff/user", cookie)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestLogoutLinkCannotBeForcedCrossSite_LogoutCSRF: a page on another site that sends the
// victim's browser to /bff/logout (top-level navigation) changes nothing: no Set-Cookie at
// all and the session lives on, whether the cookie was withheld (SameSite=Strict, the
// default) or sent (lax), with no sid, a wrong one, or even the right handle. A request
// without Sec-Fetch-Site (an older browser) cannot log out without the session's handle,
// and is never answered with a clearing cookie it did not present.
func TestLogoutLinkCannotBeForcedCrossSite_LogoutCSRF(t *testing.T) {
	for _, sameSite := range []string{"strict", "lax"} {
		t.Run(sameSite, func(t *testing.T) {
			o := testenv.Options{Configure: func(c *config.Config) { c.Session.SameSite = sameSite }}
			testenv.SharedRedis(t, &o)
			e := testenv.Start(t, o)
			f := newForger(t, e)
			id, cookie := f.live(nil)
			handle := logoutLink(t, e, cookie).Query().Get("sid")
			if handle == "" || handle == "op-session" {
				t.Fatalf("logout link handle %q: want the session's own handle, not the IdP sid", handle)
			}
			tests := []struct {
				name, fetchSite, query string
				withCookie             bool
				cookie                 string // overrides the live cookie when set
			}{
				{name: "cross-site, cookie withheld, no sid", fetchSite: "cross-site"},
				{name: "cross-site, cookie withheld, wrong sid", fetchSite: "cross-site", query: "?sid=wrong"},
				{name: "cross-site, cookie sent, no sid", fetchSite: "cross-site", withCookie: true},
				{name: "cross-site, cookie sent, wrong sid", fetchSite: "cross-site", query: "?sid=wrong", withCookie: true},
				{name: "cross-site, cookie sent, the IdP sid", fetchSite: "cross-site", query: "?sid=op-session", withCookie: true},
				{name: "cross-site, cookie sent, the right handle", fetchSite: "cross-site", query: "?sid=" + handle, withCookie: true},
				{name: "sibling subdomain, the right handle", fetchSite: "same-site", query: "?sid=" + handle, withCookie: true},
				{name: "cross-site with an undecodable cookie", fetchSite: "cross-site", cookie: "__Host-bff=AAAA"},
				{name: "no Sec-Fetch-Site, cookie withheld", query: "?sid=wrong"},
				{name: "no Sec-Fetch-Site, cookie sent, wrong sid", query: "?sid=wrong", withCookie: true},
				{name: "same-origin, cookie sent, no sid", fetchSite: "same-origin", withCookie: true},
				{name: "same-origin, cookie sent, the IdP sid instead of the handle", fetchSite: "same-origin", query: "?sid=op-session", withCookie: true},
				{name: "same-origin, cookie sent, handle with a suffix", fetchSite: "same-origin", query: "?sid=" + handle + "x", withCookie: true},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					sent := tc.cookie
					if tc.withCookie {
						sent = cookie
					}
					resp := navigate(t, e, "/bff/logout"+tc.query, tc.fetchSite, sent)
					body := testenv.ReadAll(t, resp)
					if resp.StatusCode >= 500 {
						t.Fatalf("status %d %s", resp.StatusCode, body)
					}
					if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
						t.Fatalf("answered with Set-Cookie %q: a forged logout link changed a cookie", sc)
					}
					if !sessionAlive(t, e, cookie) {
						t.Fatal("the session ended")
					}
				})
			}
			// The session's own page, with its handle, does log out.
			resp := navigate(t, e, "/bff/logout?sid="+url.QueryEscape(handle), "same-origin", cookie)
			testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusFound || !clearsSessionCookie(t, resp) {
				t.Fatalf("logout with the handle: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
			}
			if sessionAlive(t, e, cookie) {
				t.Fatal("the session survived its own logout link")
			}
			if n, err := f.raw.Exists(t.Context(), f.key(id)).Result(); err != nil || n != 0 {
				t.Fatalf("the record is still stored (%d, %v)", n, err)
			}
		})
	}
}

// TestLogoutLinkWorksWithoutIdPSid_Cognito: a provider that issues no sid (Amazon Cognito,
// some Entra ID setups) still gets a working GET logout link: the session's own handle.
func TestLogoutLinkWorksWithoutIdPSid_Cognito(t *testing.T) {
	e := testenv.Start(t, testenv.Options{OmitSID: true})
	c := e.NewClient(t)
	e.Login(t, c, "alice", "/")
	var u struct {
		LogoutURL string `json:"logoutUrl"`
	}
	testenv.JSON(t, e.Do(t, c, http.MethodGet, "/bff/user", nil), &u)
	lu, err := url.Parse(u.LogoutURL)
	if err != nil || len(lu.Query().Get("sid")) < 26 {
		t.Fatalf("logoutUrl %q: want a handle of >= 128 bits in sid", u.LogoutURL)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL(u.LogoutURL), nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.OPServer.URL) {
		t.Fatalf("GET logout: %d to %q, want 302 to the OP's end-session", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.UserStatus(t, c); got != http.StatusUnauthorized {
		t.Fatalf("the session survived the logout link: %d", got)
	}
}

// TestLogoutLinkOfARecordWithoutHandle_Upgrade: a session stored before logout handles
// existed keeps a working link: the IdP sid stands in for the handle.
func TestLogoutLinkOfARecordWithoutHandle_Upgrade(t *testing.T) {
	o := testenv.Options{}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	f := newForger(t, e)
	_, cookie := f.live(func(r *session.Record) { r.LogoutHandle = "" })
	lu := logoutLink(t, e, cookie)
	if got := lu.Query().Get("sid"); got != "op-session" {
		t.Fatalf("logout link of a record without handle: sid=%q, want the IdP sid", got)
	}
	if resp := navigate(t, e, "/bff/logout?sid=other", "same-origin", cookie); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a wrong sid: %d, want 400", resp.StatusCode)
	}
	resp := navigate(t, e, lu.String(), "same-origin", cookie)
	testenv.ReadAll(t, resp)
	if resp.StatusCode != http.StatusFound || !clearsSessionCookie(t, resp) || sessionAlive(t, e, cookie) {
		t.Fatalf("logout with the IdP sid: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
}

// TestLogoutPostClearsOnlyAPresentedCookie_LogoutCSRF: POST /bff/logout without a session
// answers 200 (logging out is idempotent) but sends a clearing cookie only for a cookie the
// request presented and that names no live session; two session cookies are 401 and clear
// nothing (the clearing Set-Cookie could only reach the victim's own cookie).
func TestLogoutPostClearsOnlyAPresentedCookie_LogoutCSRF(t *testing.T) {
	o := testenv.Options{}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	f := newForger(t, e)
	_, a := f.live(nil)
	_, b := f.live(nil)
	tests := []struct {
		name   string
		cookie string
		status int
		clear  bool
	}{
		{name: "no cookie", status: http.StatusOK},
		{name: "a cookie that does not open", cookie: "__Host-bff=AAAA", status: http.StatusOK, clear: true},
		{name: "two session cookies", cookie: a + "; " + b, status: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, e, http.MethodPost, "/bff/logout", tc.cookie)
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != tc.status || clearsSessionCookie(t, resp) != tc.clear {
				t.Fatalf("%d %s, Set-Cookie %q; want %d, clearing %v", resp.StatusCode, body,
					resp.Header.Values("Set-Cookie"), tc.status, tc.clear)
			}
		})
	}
	if !sessionAlive(t, e, a) || !sessionAlive(t, e, b) {
		t.Fatal("a refused logout ended a session")
	}
}
