package spademo_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenward/bff/internal/testenv"
)

// TestSilentLoginReturnsToTheAppInChromium is the check-SSO pattern without iframes or
// third-party cookies, in a real browser. A fresh browser (no session at the IdP)
// navigates to /bff/login?prompt=none&returnTo=/x?tab=2#top: the IdP answers
// login_required and the browser ends on /x with its query and fragment and the marker
// bff_login=login_required, not on an error page, and with no session. After a real
// login and a BFF logout that leaves the IdP session alive, the same silent navigation
// logs the browser in again and lands on returnTo exactly, with no marker: no login page
// was shown (the browser types nothing, so a form would have stopped it at the IdP).
func TestSilentLoginReturnsToTheAppInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	e := testenv.Start(t, testenv.Options{})
	b := startBrowser(t, execPath, chromedp.Flag("ignore-certificate-errors", true))
	app := e.PublicURL

	silent := func(returnTo string) {
		b.t.Helper()
		target, _ := url.Parse(returnTo)
		b.do("silent login to "+returnTo, 15*time.Second,
			chromedp.Navigate(app+"/bff/login?prompt=none&returnTo="+url.QueryEscape(returnTo)))
		b.waitFor("back on "+target.Path, 15*time.Second, fmt.Sprintf(
			`location.origin === %q && location.pathname === %q && document.readyState === 'complete'`, app, target.Path))
	}

	silent("/x?tab=2#top")
	if got := eval[string](b, "read the address", `location.search + location.hash`); got != "?tab=2&bff_login=login_required#top" {
		b.fatalf("silent login without an IdP session ended on %q, want ?tab=2&bff_login=login_required#top", got)
	}
	if s := pageUserStatus(b); s != http.StatusUnauthorized {
		b.fatalf("/bff/user after a silent login without an IdP session: %d, want 401", s)
	}

	b.do("a real login", 20*time.Second,
		chromedp.Navigate(app+"/bff/login?returnTo=/welcome"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), testenv.Password("alice")),
		chromedp.Click(chromedp.ID("submit")))
	b.waitFor("back on /welcome", 15*time.Second, `location.pathname === '/welcome' && document.readyState === 'complete'`)
	if s := pageUserStatus(b); s != http.StatusOK {
		b.fatalf("/bff/user after the login: %d, want 200", s)
	}
	logout := eval[int](b, "log out of the BFF only", `fetch('/bff/logout', {method: 'POST', headers: {'X-CSRF': '1'}}).then((r) => r.status)`)
	if logout != http.StatusOK || pageUserStatus(b) != http.StatusUnauthorized {
		b.fatalf("BFF logout: %d, then /bff/user %d, want 200 and 401", logout, pageUserStatus(b))
	}

	silent("/y?tab=3")
	if got := eval[string](b, "read the address", `location.search + location.hash`); got != "?tab=3" {
		b.fatalf("silent login with an IdP session ended on %q, want exactly ?tab=3", got)
	}
	if s := pageUserStatus(b); s != http.StatusOK {
		b.fatalf("/bff/user after a silent login with an IdP session: %d, want 200", s)
	}
}

// pageUserStatus is the status of the page's own GET /bff/user.
func pageUserStatus(b *browser) int {
	b.t.Helper()
	return eval[int](b, "GET /bff/user", `fetch('/bff/user', {headers: {'X-CSRF': '1'}}).then((r) => r.status)`)
}
