package handler_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// silentLogin starts /bff/login?prompt=none&returnTo=returnTo through c and lets the OP
// answer with c's cookies (its SSO session, if any): the callback URL, not yet requested.
func silentLogin(t *testing.T, e *testenv.Env, c *http.Client, returnTo string) *url.URL {
	t.Helper()
	cb, err := demoop.LoginHeadless(context.Background(), c,
		e.URL("/bff/login?prompt=none&returnTo="+url.QueryEscape(returnTo)), "alice", "no form expected")
	if err != nil {
		t.Fatalf("silent login: %v", err)
	}
	return cb
}

// startLogin is /bff/login?query through c; it returns the state the BFF sent to the OP.
func startLogin(t *testing.T, e *testenv.Env, c *http.Client, query string) string {
	t.Helper()
	resp, err := c.Get(e.URL("/bff/login?" + query))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return loc.Query().Get("state")
}

// errorAnswer is the callback URL of an authorization error response for state.
func errorAnswer(e *testenv.Env, state, code, iss string) string {
	q := url.Values{"state": {state}, "error": {code}}
	if iss != "" {
		q.Set("iss", iss)
	}
	return e.URL("/bff/callback?" + q.Encode())
}

// TestSilentLoginWithoutIdPSessionReturnsToTheApp: /bff/login?prompt=none in a browser
// with no session at the IdP comes back from the IdP with error=login_required; the
// callback, after matching it to this browser's pending login, sends the browser to
// returnTo (query and fragment kept) with the marker bff_login=login_required instead of
// an error page, starts no session, and uses up the pending login.
func TestSilentLoginWithoutIdPSessionReturnsToTheApp(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t)
	cb := silentLogin(t, e, c, "/x?tab=2#top")
	if cb.Query().Get("error") != "login_required" {
		t.Fatalf("the OP answered %v, want error=login_required", cb.Query())
	}
	resp, err := c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	body := testenv.ReadAll(t, resp)
	if want := "/x?tab=2&bff_login=login_required#top"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("callback: %d to %q, want 302 to %q: %s", resp.StatusCode, resp.Header.Get("Location"), want, body)
	}
	if ck := testenv.FindCookie(resp, "__Host-bff"); ck != nil {
		t.Fatal("a silent login without an IdP session set a session cookie")
	}
	if r := e.Do(t, c, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/bff/user: %d, want 401", r.StatusCode)
	}
	if n := len(loginHandles(t, e, c)); n != 0 {
		t.Fatalf("%d pending logins left, want the silent one used up", n)
	}
	replay, err := c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, replay)
}

// TestSilentLoginErrorIsBoundToItsBrowser_LoginCSRF: an error answer is still an
// authorization response: one that names no pending login of this browser (another
// browser's, a guessed state) or comes from another issuer (mix-up) gets the error page,
// never the redirect. An interaction error for a login that did not ask for prompt=none,
// and any other error of a silent one, keep their error pages too.
func TestSilentLoginErrorIsBoundToItsBrowser_LoginCSRF(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	iss := e.Config.OIDC.Issuer
	tests := []struct {
		name   string
		answer func(t *testing.T, c *http.Client) string
		status int
	}{
		{name: "silent login of another browser", status: http.StatusBadRequest, answer: func(t *testing.T, _ *http.Client) string {
			return errorAnswer(e, startLogin(t, e, e.NewClient(t), "prompt=none&returnTo=/x"), "login_required", iss)
		}},
		{name: "unknown state", status: http.StatusBadRequest, answer: func(t *testing.T, c *http.Client) string {
			return errorAnswer(e, otherState(startLogin(t, e, c, "prompt=none&returnTo=/x")), "login_required", iss)
		}},
		{name: "other issuer", status: http.StatusBadRequest, answer: func(t *testing.T, c *http.Client) string {
			return errorAnswer(e, startLogin(t, e, c, "prompt=none&returnTo=/x"), "login_required", "https://evil.example")
		}},
		{name: "login without prompt=none", status: http.StatusBadRequest, answer: func(t *testing.T, c *http.Client) string {
			return errorAnswer(e, startLogin(t, e, c, "returnTo=/x"), "login_required", iss)
		}},
		{name: "prompt=login", status: http.StatusBadRequest, answer: func(t *testing.T, c *http.Client) string {
			return errorAnswer(e, startLogin(t, e, c, "prompt=login&returnTo=/x"), "interaction_required", iss)
		}},
		{name: "silent login denied", status: http.StatusForbidden, answer: func(t *testing.T, c *http.Client) string {
			return errorAnswer(e, startLogin(t, e, c, "prompt=none&returnTo=/x"), "access_denied", iss)
		}},
		{name: "silent login server error", status: http.StatusBadRequest, answer: func(t *testing.T, c *http.Client) string {
			return errorAnswer(e, startLogin(t, e, c, "prompt=none&returnTo=/x"), "server_error", iss)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.NewClient(t)
			resp, err := c.Get(tc.answer(t, c))
			if err != nil {
				t.Fatal(err)
			}
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != tc.status || resp.Header.Get("Location") != "" || !strings.Contains(body, `href="/bff/login"`) {
				t.Fatalf("callback: %d to %q, want the %d page with a retry link: %s", resp.StatusCode, resp.Header.Get("Location"), tc.status, body)
			}
		})
	}
}

// TestSilentLoginWithIdPSessionLogsInWithoutAForm: with a live session at the IdP,
// prompt=none completes the login with no page shown, and the callback returns to
// returnTo exactly, without a marker.
func TestSilentLoginWithIdPSessionLogsInWithoutAForm(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	c := e.NewClient(t) // its jar keeps the OP's session cookie, as a browser does
	if _, err := demoop.LoginHeadless(context.Background(), c, e.URL("/bff/login"), "alice", testenv.Password("alice")); err != nil {
		t.Fatal(err)
	}
	cb := silentLogin(t, e, c, "/x?tab=2") // the password it would type is wrong: no form may show
	resp, err := c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/x?tab=2" || testenv.FindCookie(resp, "__Host-bff") == nil {
		t.Fatalf("callback: %d to %q, want 302 to /x?tab=2 with a session", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := e.Do(t, c, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("/bff/user: %d, want 200", r.StatusCode)
	}
}
