package spademo_test

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	sessionCookie = "__Host-bff"
	loginCookie   = "__Host-bff-login"
)

// call sends one DevTools command to the tab within 5 s.
func call[P, R any](b *browser, step string, cmd cdp.Command[P, R], params P) R {
	b.t.Helper()
	return run(b, step, 5*time.Second, func(ctx context.Context, t *chromedp.Target) (R, error) {
		return cdp.Call(ctx, t, cmd, params)
	})
}

// cookieFate reports whether the browser attached the cookie called name to any hop of a
// request, and whether it withheld it on a hop because of SameSite=Strict.
func cookieFate(hops [][]*network.AssociatedCookie, match func(name string) bool) (sent, withheldStrict bool) {
	for _, cookies := range hops {
		for _, c := range cookies {
			if c.Cookie == nil || !match(c.Cookie.Name) {
				continue
			}
			if len(c.BlockedReasons) == 0 {
				sent = true
			}
			if slices.Contains(c.BlockedReasons, network.CookieBlockedReasonSameSiteStrict) ||
				slices.Contains(c.BlockedReasons, network.CookieBlockedReasonSchemefulSameSiteStrict) {
				withheldStrict = true
			}
		}
	}
	return sent, withheldStrict
}

func isSession(name string) bool    { return name == sessionCookie }
func isLoginState(name string) bool { return name == loginCookie }

// checkStrictCookieOnlyOnTheSPAsFetch is the proof docs/security.md promises: the navigation
// that the OP's redirect starts (OP → /bff/callback → /) is cross-site, so the browser
// sends the SameSite=Lax login cookie to the callback but withholds the SameSite=Strict
// session cookie from the SPA page it lands on; the SPA's own fetch of /bff/user is
// same-site and carries it. That is why the demo needs no reload after login.
func checkStrictCookieOnlyOnTheSPAsFetch(b *browser, traffic *netRecorder, demo *demoEnv) {
	b.t.Helper()
	traffic.sync(b)
	hops, cookies, xs, _ := traffic.snapshot()
	cb := slices.IndexFunc(hops, func(h hop) bool { return strings.HasPrefix(h.url, demo.URL+"/bff/callback?") })
	if cb < 0 {
		b.fatalf("the browser never reached /bff/callback")
	}
	nav := hops[cb].id
	last := lastHopOf(hops, nav)
	if hops[last].url != demo.URL+"/" || hops[last].typ != network.ResourceTypeDocument {
		b.fatalf("the callback's redirect chain ends on %q (%s), want the SPA's document %q", hops[last].url, hops[last].typ, demo.URL+"/")
	}
	if sent, _ := cookieFate(cookies[nav], isLoginState); !sent {
		b.t.Errorf("the SameSite=Lax login cookie did not reach /bff/callback on the OP's cross-site redirect")
	}
	sent, withheld := cookieFate(cookies[nav], isSession)
	if sent {
		b.t.Errorf("the navigation after the OP's cross-site redirect carried the SameSite=Strict %s cookie", sessionCookie)
	}
	if !withheld {
		b.t.Errorf("the browser did not report withholding %s (SameSite=Strict) from the navigation to the SPA", sessionCookie)
	}
	fetch := slices.IndexFunc(hops[last+1:], func(h hop) bool {
		return h.url == demo.URL+"/bff/user" && h.typ == network.ResourceTypeFetch
	})
	if fetch < 0 {
		b.fatalf("the SPA did not fetch /bff/user after the login")
	}
	id := hops[last+1+fetch].id
	if sent, _ := cookieFate(cookies[id], isSession); !sent {
		b.t.Errorf("the SPA's fetch of /bff/user did not carry %s", sessionCookie)
	}
	if i := slices.IndexFunc(xs, func(x exchange) bool { return x.id == id }); i < 0 || xs[i].status != 200 {
		b.t.Errorf("the SPA's fetch of /bff/user after login was not answered 200")
	}
}

func lastHopOf(hops []hop, id network.RequestID) int {
	last := -1
	for i, h := range hops {
		if h.id == id {
			last = i
		}
	}
	return last
}

// checkSessionCookie checks the session cookie's attributes as the browser stored them
// and returns its value (to look for it where it must not be).
func checkSessionCookie(b *browser, demo *demoEnv) string {
	b.t.Helper()
	res := call(b, "read the browser's cookies", network.GetCookies, network.GetCookiesParams{URLs: []string{demo.URL + "/"}})
	i := slices.IndexFunc(res.Cookies, func(c *network.Cookie) bool { return c.Name == sessionCookie })
	if i < 0 {
		b.fatalf("the browser holds no %s cookie for %s after login", sessionCookie, demo.URL)
	}
	c := res.Cookies[i]
	for _, attr := range []struct {
		name string
		ok   bool
	}{
		{name: "HttpOnly", ok: c.HTTPOnly},
		{name: "Secure", ok: c.Secure},
		{name: "SameSite=Strict", ok: c.SameSite == network.CookieSameSiteStrict},
		{name: "Path=/", ok: c.Path == "/"},
		{name: "host-only (no Domain)", ok: c.Domain == "localhost"},
	} {
		if !attr.ok {
			b.t.Errorf("%s is not %s (domain=%q path=%q httpOnly=%v secure=%v sameSite=%q)",
				sessionCookie, attr.name, c.Domain, c.Path, c.HTTPOnly, c.Secure, c.SameSite)
		}
	}
	for _, other := range res.Cookies {
		if !other.HTTPOnly {
			b.t.Errorf("cookie %s of the SPA's origin is readable by scripts", other.Name)
		}
	}
	if c.Value == "" {
		b.fatalf("%s has no value", sessionCookie)
	}
	return c.Value
}

// checkScriptsCannotReadTheCookie evaluates document.cookie in the page (what an XSS
// payload would read) and what the demo page itself displays of it.
func checkScriptsCannotReadTheCookie(b *browser, value string) {
	b.t.Helper()
	for _, expr := range []string{`document.cookie`, `document.getElementById('cookies').textContent`} {
		got := eval[string](b, expr, expr)
		if strings.Contains(got, sessionCookie) || strings.Contains(got, value) {
			b.t.Errorf("%s shows the session cookie", expr)
		}
	}
}

// checkWentThroughEndSession: after POST /bff/logout the browser went to the OP's
// end_session with an id_token_hint and a post_logout_redirect_uri, and the OP sent it
// back to the SPA.
func checkWentThroughEndSession(t *testing.T, hops []hop, demo *demoEnv) {
	t.Helper()
	post := slices.IndexFunc(hops, func(h hop) bool { return h.url == demo.URL+"/bff/logout" && h.method == "POST" })
	if post < 0 {
		t.Fatal("the SPA did not POST /bff/logout")
	}
	end := slices.IndexFunc(hops[post:], func(h hop) bool {
		u, err := url.Parse(h.url)
		return err == nil && h.typ == network.ResourceTypeDocument && strings.HasPrefix(h.url, demo.OPURL+"/") &&
			u.Query().Has("id_token_hint") && u.Query().Has("post_logout_redirect_uri")
	})
	if end < 0 {
		t.Fatal("the browser did not go to the OP's end_session with id_token_hint and post_logout_redirect_uri")
	}
	last := hops[lastHopOf(hops, hops[post+end].id)]
	if !strings.HasPrefix(last.url, demo.URL+"/") {
		t.Errorf("the OP's logout sent the browser to %q, want the SPA", last.url)
	}
}

// checkLoggedOutEverywhere: no cookie left, the BFF has no session for this browser,
// and the OP saw one login, the refreshes, one revocation (the BFF's RFC 7009 call) and
// one RP-initiated logout, and never a reused refresh token.
func checkLoggedOutEverywhere(b *browser, demo *demoEnv) {
	b.t.Helper()
	res := call(b, "read the browser's cookies", network.GetCookies, network.GetCookiesParams{URLs: []string{demo.URL + "/"}})
	if slices.ContainsFunc(res.Cookies, func(c *network.Cookie) bool { return c.Name == sessionCookie }) {
		b.t.Errorf("%s is still in the browser after logout", sessionCookie)
	}
	type answer struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
	}
	got := eval[answer](b, "GET /bff/user after logout", `fetch('/bff/user', {headers: {'X-CSRF': '1'}})
		.then(async (r) => ({status: r.status, type: r.status === 401 ? (await r.json()).type : ''}))`)
	if got != (answer{Status: 401, Type: "unauthenticated"}) {
		b.t.Errorf("/bff/user after logout = %+v, want 401 unauthenticated", got)
	}
	access, _, _ := demo.tokens.snapshot()
	st := demo.OP.Stats()
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{name: "authorization code grants", got: st.AuthCodeGrants, want: 1},
		{name: "refresh grants", got: st.RefreshGrants, want: len(access) - 1},
		{name: "refresh token reuse detected", got: st.RefreshReuseDetected, want: 0},
		{name: "revocations", got: st.Revocations, want: 1},
		{name: "end sessions", got: st.EndSessions, want: 1},
	} {
		if c.got != c.want {
			b.t.Errorf("OP %s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// checkNoTokenReachedThePage reads every body the page received from the BFF (documents,
// scripts, /bff/* JSON, proxied API answers, the event stream) and looks for the access
// and refresh tokens the OP issued and for the session cookie's value. The only JWT
// allowed is an ID token, in /bff/logout's answer: the end-session URL carries it as
// id_token_hint (RP-Initiated Logout 1.0 §2). An ID token is neither an access nor a
// refresh token: it cannot call an API, and the page learns nothing from it that
// /bff/user does not already show.
func checkNoTokenReachedThePage(b *browser, traffic *netRecorder, demo *demoEnv, cookie string) {
	b.t.Helper()
	traffic.sync(b)
	_, _, xs, errs := traffic.snapshot()
	for _, err := range errs {
		b.t.Errorf("network recorder: %v", err)
	}
	access, refresh, ids := demo.tokens.snapshot()
	if len(access) == 0 || len(refresh) == 0 || len(ids) == 0 {
		b.fatalf("recorded %d access, %d refresh, %d ID tokens: the check would prove nothing", len(access), len(refresh), len(ids))
	}
	seen := map[string]bool{}
	for _, x := range xs {
		path := pathOf(x.url)
		if len(x.body) > 0 {
			seen[path] = true
		}
		checkBody(b.t, x, path, access, refresh, ids, cookie)
	}
	for _, path := range []string{"/", "/app.js", "/bff/client.js", "/bff/client-config", "/bff/user", "/api/me", "/api/clock", "/bff/logout"} {
		if !seen[path] {
			b.t.Errorf("no body of %s was captured: the check did not cover it", path)
		}
	}
}

func checkBody(t *testing.T, x exchange, path string, access, refresh, ids []string, cookie string) {
	t.Helper()
	for i, tok := range access {
		if bytes.Contains(x.body, []byte(tok)) {
			t.Errorf("%s (%d) gave the page access token #%d", path, x.status, i+1)
		}
	}
	for i, tok := range refresh {
		if bytes.Contains(x.body, []byte(tok)) {
			t.Errorf("%s (%d) gave the page refresh token #%d", path, x.status, i+1)
		}
	}
	if bytes.Contains(x.body, []byte(cookie)) {
		t.Errorf("%s (%d) gave the page the session cookie's value", path, x.status)
	}
	rest := x.body
	if path == "/bff/logout" {
		hints := 0
		for _, id := range ids {
			hints += bytes.Count(rest, []byte(id))
			rest = bytes.ReplaceAll(rest, []byte(id), nil)
		}
		if hints != 1 {
			t.Errorf("/bff/logout's answer holds %d ID tokens, want one (the id_token_hint)", hints)
		}
	}
	if bytes.Contains(rest, []byte("eyJ")) {
		t.Errorf("%s (%d) gave the page a JWT that is not the logout's id_token_hint", path, x.status)
	}
	if path == "/api/clock" && !bytes.Contains(x.body, []byte("data: ")) {
		t.Errorf("the captured event stream holds no event")
	}
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Path
}

// checkLogsHoldNoSecret reads every line the demo logged at debug level (BFF and OP)
// and looks for the tokens, the authorization code and the session cookie's value.
func checkLogsHoldNoSecret(b *browser, traffic *netRecorder, demo *demoEnv, cookie string) {
	b.t.Helper()
	logs := demo.logs.String()
	if !strings.Contains(logs, "bff listening") {
		b.t.Fatalf("the demo's logs were not captured: the check would prove nothing")
	}
	access, refresh, ids := demo.tokens.snapshot()
	secrets := map[string][]string{
		"access token": access, "refresh token": refresh, "ID token": ids,
		"session cookie value": {cookie}, "authorization code": authorizationCodes(traffic),
	}
	for kind, values := range secrets {
		for _, v := range values {
			if v != "" && strings.Contains(logs, v) {
				b.t.Errorf("a log line holds the %s", kind)
			}
		}
	}
}

func authorizationCodes(traffic *netRecorder) []string {
	hops, _, _, _ := traffic.snapshot()
	var codes []string
	for _, h := range hops {
		if u, err := url.Parse(h.url); err == nil && u.Path == "/bff/callback" {
			codes = append(codes, u.Query().Get("code"))
		}
	}
	return codes
}
