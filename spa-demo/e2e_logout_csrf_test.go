package spademo_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// attackerPage is a page on another site that, as soon as it loads, navigates the whole
// window (top level) to the address in its ?to= parameter: the simplest logout CSRF.
const attackerPage = `<!doctype html><title>cute cats</title>
<script>location.assign(new URLSearchParams(location.search).get('to'));</script>`

// startAttackerSite serves attackerPage on 127.0.0.1, another site than the demo's
// localhost: Chromium sends Sec-Fetch-Site: cross-site and withholds SameSite=Strict
// cookies on the navigations it starts.
func startAttackerSite(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(attackerPage))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLogoutCSRFFromAnotherSiteInChromium: a logged-in victim visits a page on another
// site that navigates the browser top-level to /bff/logout, and then to
// /bff/logout?sid=wrong. Chromium withholds the SameSite=Strict session cookie on those
// navigations; the BFF must not answer with a clearing Set-Cookie (Chromium would obey it
// and delete the still-valid cookie) nor end anything. Back on the SPA, its fetch of
// /bff/user still answers 200 for the same session.
func TestLogoutCSRFFromAnotherSiteInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	demo := startDemo(t)
	b := startBrowser(t, execPath)
	attacker := startAttackerSite(t)
	if !strings.HasPrefix(demo.URL, "http://localhost:") || !strings.HasPrefix(attacker.URL, "http://127.0.0.1:") {
		t.Fatalf("the demo (%s) and the attacker (%s) must be on different sites", demo.URL, attacker.URL)
	}

	openSPALoggedOut(b, demo)
	loginAs(b, demo, "alice", "wonderland")
	before := bffUser(b)

	for _, target := range []string{"/bff/logout", "/bff/logout?sid=wrong"} {
		lure := attacker.URL + "/?to=" + url.QueryEscape(demo.URL+target)
		b.do("the victim opens the attacker's page", 15*time.Second, chromedp.Navigate(lure))
		// Wherever the BFF's answer leads (a refusal page, or a redirect), the browser ends
		// on the demo's origin once it has acted on the answer's headers.
		b.waitFor("the attacker's page sent the browser to "+target, 15*time.Second, fmt.Sprintf(
			`location.origin === %q && document.readyState === 'complete'`, demo.URL))
		b.do("back to the SPA", 15*time.Second, chromedp.Navigate(demo.URL+"/"))
		b.waitFor("the SPA is ready", 10*time.Second, `document.body.dataset.ready === 'true'`)
		after := bffUser(b) // fails the test unless /bff/user answers 200
		checkSameSession(b, before, after)
		if got := b.text("user-user"); got != findUser(t, demo, "alice").Name {
			b.fatalf("after the forced %s the SPA shows %q, want alice still logged in", target, got)
		}
	}
}
