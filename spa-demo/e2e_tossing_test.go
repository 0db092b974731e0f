package spademo_test

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// Sibling hosts for the cookie-tossing test: the browser resolves every *.bff.test name
// to loopback, so evil.bff.test is a sibling of the BFF's app.bff.test and may set
// cookies with Domain=bff.test, which the browser then sends to app.bff.test.
const (
	tossParent  = "bff.test"
	tossAppHost = "app." + tossParent
	tossEvil    = "evil." + tossParent
)

// TestSiblingHostCannotPlantALoginInChromium is login CSRF by cookie tossing, in a real browser:
// the attacker starts a login at the BFF (as bob), completes it at the OP, and keeps the
// callback URL (their code and state). A page on evil.bff.test, a sibling of the BFF's
// host, then plants the attacker's login cookie with Domain=bff.test, under the name the
// BFF gave it and under the old __Secure-bff-login-N pattern, and sends the victim to the
// attacker's callback URL. The victim (who has a pending login of their own) must not end
// up logged in, as bob or anyone: a __Host- cookie cannot be set from a sibling host, and
// the callback accepts only a login bound to this browser's own __Host- cookie.
func TestSiblingHostCannotPlantALoginInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	e := testenv.Start(t, testenv.Options{PublicHost: tossAppHost})
	planted, callback := attackerLogin(t, e)
	evil := evilSibling(t, planted, callback)
	b := startBrowser(t, execPath,
		chromedp.Flag("host-resolver-rules", "MAP *."+tossParent+" 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true),
	)
	app := e.PublicURL

	// The victim has a login of their own in progress (a genuine login cookie).
	b.do("start the victim's own login", 15*time.Second, chromedp.Navigate(app+"/bff/login"))
	b.do("visit the attacker's sibling page", 15*time.Second, chromedp.Navigate(evil+"/"))
	b.waitFor("land back on the BFF", 15*time.Second,
		fmt.Sprintf(`location.origin === %q && document.readyState === 'complete'`, app))

	checkPlantReached(b, app)
	b.do("open the SPA", 15*time.Second, chromedp.Navigate(app+"/"))
	res := call(b, "read the browser's cookies", network.GetCookies, network.GetCookiesParams{URLs: []string{app + "/"}})
	if slices.ContainsFunc(res.Cookies, func(c *network.Cookie) bool { return c.Name == sessionCookie }) {
		t.Errorf("the victim holds a %s session cookie after the planted login", sessionCookie)
	}
	status := eval[int](b, "GET /bff/user", `fetch('/bff/user', {headers: {'X-CSRF': '1'}}).then((r) => r.status)`)
	if status != http.StatusUnauthorized {
		t.Errorf("/bff/user after the planted login: %d, want 401 (not logged in)", status)
	}
	if n := e.OP.Stats().AuthCodeGrants; n != 0 {
		t.Errorf("the BFF redeemed %d authorization codes: the attacker's code was used", n)
	}
}

// attackerLogin runs the attacker's login up to the OP's redirect back: it returns the
// cookies the BFF set on the attacker's /bff/login (their pending login) and the
// callback URL with the attacker's code and state.
func attackerLogin(t *testing.T, e *testenv.Env) ([]*http.Cookie, string) {
	t.Helper()
	resp, err := e.NewClient(t).Get(e.URL("/bff/login"))
	if err != nil {
		t.Fatalf("attacker's /bff/login: %v", err)
	}
	resp.Body.Close()
	var pending []*http.Cookie
	for _, c := range resp.Cookies() {
		// A pending login is a long opaque value (not, e.g., a slot counter).
		if strings.Contains(c.Name, "bff-login") && c.MaxAge >= 0 && len(c.Value) >= 16 {
			pending = append(pending, c)
		}
	}
	if len(pending) == 0 || resp.StatusCode != http.StatusFound {
		t.Fatalf("attacker's /bff/login: %d with no login cookie", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cb, err := demoop.LoginHeadless(ctx, &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, resp.Header.Get("Location"), "bob", testenv.Password("bob"))
	if err != nil {
		t.Fatalf("attacker's login at the OP: %v", err)
	}
	// What the sibling plants: each login cookie as the BFF named it, and its value under
	// the old __Secure-bff-login-N names and under the __Host- name, all for the parent.
	var planted []*http.Cookie
	for _, c := range pending {
		planted = append(planted,
			&http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path},
			&http.Cookie{Name: "__Secure-bff-login-0", Value: c.Value, Path: "/bff/callback"},
			&http.Cookie{Name: "__Host-bff-login", Value: c.Value, Path: "/"},
		)
	}
	for _, c := range planted {
		c.Domain, c.Secure, c.HttpOnly, c.SameSite = tossParent, true, true, http.SameSiteLaxMode
		if c.Path == "" {
			c.Path = "/"
		}
	}
	return planted, cb.String()
}

var evilPage = template.Must(template.New("evil").Parse(`<!doctype html><title>evil</title>
<script>addEventListener('load', () => setTimeout(() => location.replace({{.}}), 0));</script>`))

// evilSibling serves the attacker's page on evil.bff.test: it sets the planted cookies
// and, once loaded (so the test's navigation to it completes first), sends the browser to
// the attacker's callback URL. It returns the page's origin.
func evilSibling(t *testing.T, planted []*http.Cookie, callback string) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range planted {
			http.SetCookie(w, c)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = evilPage.Execute(w, callback)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "https://" + net.JoinHostPort(tossEvil, port)
}

// checkPlantReached proves the attack was real: the browser stored at least one of the
// cookies the sibling planted for the BFF's host (else the test would prove nothing).
func checkPlantReached(b *browser, app string) {
	b.t.Helper()
	u, _ := url.Parse(app)
	res := call(b, "read the browser's cookies", network.GetCookies,
		network.GetCookiesParams{URLs: []string{app + "/bff/callback"}})
	var names []string
	for _, c := range res.Cookies {
		if strings.TrimPrefix(c.Domain, ".") == tossParent {
			names = append(names, c.Name)
			if strings.HasPrefix(c.Name, "__Host-") {
				b.t.Errorf("the browser accepted %s with Domain=%s from a sibling host", c.Name, tossParent)
			}
		}
	}
	if len(names) == 0 {
		b.fatalf("no cookie planted by %s reached %s: the test proves nothing", tossEvil, u.Host)
	}
	b.t.Logf("cookies planted from the sibling host: %v", names)
}
