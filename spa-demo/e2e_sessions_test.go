package spademo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenward/bff/config"
)

// The banner's words for a session that another tab or device ended.
const signedOutElsewhere = "Signed out in another tab or device."

// TestSessionsAcrossTabsAndDevicesInChromium drives the demo's "Your sessions" panel and
// its live-event banner with one user in two tabs of one browser (one session: the tabs
// share the cookie) and on a second device (a new browser context: its own cookie, its own
// session, no tab channel to the first browser, so it hears only the event stream):
//
//  1. tab 1 lists both sessions: this one marked "this device" without an End button, the
//     device's with one;
//  2. End in tab 1 → the device's page, without a reload, shows the signed-out banner and
//     the signed-out UI, told by the BFF's ended event (the client's sessionEvents; the
//     banner keeps the event's reason, which a refused reconnect would not have); tab 1's
//     list shows only itself; tab 1 and tab 2 (still logged in) show no banner;
//  3. the device logs in again (single sign-on at the OP); "Sign out everywhere" in tab 2 →
//     tab 1 and the device, neither reloaded, show the banner and the signed-out UI; tab 2
//     goes through the IdP's logout and back, signed out, with no banner.
//
// Every wait polls the page up to a deadline: how long a step took is never checked. With
// BFF_E2E_ARTIFACTS set it saves the list and the banner there.
func TestSessionsAcrossTabsAndDevicesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	demo := startDemo(t)
	tab1 := startBrowser(t, execPath)
	openSPALoggedOut(tab1, demo)
	loginAs(tab1, demo, "alice", "wonderland")
	tab2 := tab1.newTab("-tab2")
	openSPALoggedIn(tab2, demo)
	device := tab1.newDevice("-device")
	openSPALoggedOut(device, demo)
	loginAs(device, demo, "alice", "wonderland")

	checkTwoSessionsListed(tab1)
	saveLookArtifact(tab1, "sessions.png")
	markNoReload(device)
	tab1.do("End the device's session", 5*time.Second,
		chromedp.Click(chromedp.CSS(`#sessions li[data-current="false"] button.end`)))
	waitSignedOutBanner(device, signedOutElsewhere, true)
	saveLookArtifact(device, "signed-out-banner.png")
	tab1.waitFor("tab 1's list shows only this session", 10*time.Second,
		`(() => { const rows = document.querySelectorAll('#sessions li');
		  return rows.length === 1 && rows[0].dataset.current === 'true'; })()`)
	for _, b := range []*browser{tab1, tab2} {
		if kind := eval[string](b, "read the banner", `document.getElementById('banner').dataset.kind`); kind != "" {
			b.t.Errorf("a tab of the session that was not ended shows a %q banner", kind)
		}
	}

	device.do("log in again on the device (single sign-on at the OP)", 20*time.Second,
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("user-user")))
	for _, b := range []*browser{tab1, tab2, device} {
		markNoReload(b)
	}
	tab2.do("Sign out everywhere in tab 2", 5*time.Second, chromedp.Click(chromedp.ID("logout-everywhere")))
	waitSignedOutBanner(tab1, signedOutElsewhere, false)
	waitSignedOutBanner(device, signedOutElsewhere, true)
	// Tab 2 signed out itself: back from the IdP's logout (a new page: the mark is gone)
	// with no "elsewhere" banner.
	tab2.waitFor("tab 2 is back on the SPA, signed out", 20*time.Second, fmt.Sprintf(
		`location.href === %q && window.__noReload === undefined && document.body.dataset.ready === 'true' &&
		 document.getElementById('user').textContent === 'Not logged in.' &&
		 document.getElementById('banner').dataset.kind === ''`, demo.URL+"/"))
}

// openSPALoggedIn opens the SPA in a tab whose browser already has the session.
func openSPALoggedIn(b *browser, demo *demoEnv) {
	b.t.Helper()
	b.do("open the SPA", 15*time.Second, chromedp.Navigate(demo.URL+"/"))
	b.do("the SPA shows the user", 10*time.Second, chromedp.WaitVisible(chromedp.ID("user-user")))
}

// sessionRow is one entry of the "Your sessions" list as the page shows it.
type sessionRow struct {
	Device  string `json:"device"`
	Current bool   `json:"current"`
	Marked  bool   `json:"marked"`
	CanEnd  bool   `json:"canEnd"`
	Times   string `json:"times"`
}

// checkTwoSessionsListed refreshes tab's list and checks it shows this session and one
// other: only this one marked "this device", only the other one with an End button.
func checkTwoSessionsListed(b *browser) {
	b.t.Helper()
	before := eval[int](b, "count list loads", `Number(document.getElementById('sessions').dataset.loads || 0)`)
	b.do("Refresh list", 5*time.Second, chromedp.Click(chromedp.ID("sessions-reload")))
	b.waitFor("the list is loaded again", 10*time.Second,
		fmt.Sprintf(`Number(document.getElementById('sessions').dataset.loads || 0) > %d`, before))
	rows := eval[[]sessionRow](b, "read the session list", `[...document.querySelectorAll('#sessions li')].map((li) => ({
		device: li.querySelector('strong').textContent, current: li.dataset.current === 'true',
		marked: [...li.querySelectorAll('.badge')].some((m) => m.textContent === 'this device'),
		canEnd: !!li.querySelector('button.end'), times: li.querySelector('.when').textContent }))`)
	if len(rows) != 2 {
		b.fatalf("the list shows %d sessions, want 2 (this browser's and the device's): %+v", len(rows), rows)
	}
	current := 0
	for _, r := range rows {
		if r.Current {
			current++
		}
		if r.Marked != r.Current || r.CanEnd == r.Current || r.Device == "" || r.Times == "" {
			b.t.Errorf("session row %+v: want the \"this device\" mark only on the current one, End only on the other, a device and times", r)
		}
	}
	if current != 1 {
		b.t.Errorf("%d rows are the current session, want 1: %+v", current, rows)
	}
}

// markNoReload marks the page; the mark is gone if the page is loaded again.
func markNoReload(b *browser) {
	b.t.Helper()
	eval[bool](b, "mark the page", `window.__noReload = true`)
}

// waitSignedOutBanner waits until the page shows the ended banner with text and the
// signed-out UI (no user, the Log in button, no session list), then checks it was not
// reloaded to get there and, with fromEvent, that the BFF's ended event told it (a tab of
// the browser that logged out may hear its tab channel first).
func waitSignedOutBanner(b *browser, text string, fromEvent bool) {
	b.t.Helper()
	b.waitFor("the signed-out banner and UI", 15*time.Second, fmt.Sprintf(
		`(() => { const $ = (id) => document.getElementById(id);
		  return $('banner').dataset.kind === 'ended' && $('banner').textContent === %q &&
		    $('user').textContent === 'Not logged in.' && !$('login').hidden && $('logout').hidden &&
		    $('sessions-card').hidden; })()`, text))
	if !eval[bool](b, "read the mark", `window.__noReload === true`) {
		b.t.Errorf("the page was loaded again: the banner must come from the live events")
	}
	if role := eval[string](b, "read the banner's role", `document.getElementById('banner').getAttribute('aria-live')`); role != "polite" {
		b.t.Errorf("the banner's aria-live = %q, want polite", role)
	}
	if fromEvent {
		// Not a refused reconnect of the event stream (a 401, which the client also counts
		// as an end): the ended event itself, whose reason the banner keeps.
		if reason := eval[string](b, "read the banner's reason", `document.getElementById('banner').dataset.reason || ''`); reason == "" {
			b.t.Errorf("the banner came without the ended event's reason: not from the live ended event")
		}
	}
}

// The session timing of TestSessionBannerExpiringRefreshedExpiredInChromium: a short idle
// timeout with a warning that comes about 2 s after the last request.
const (
	shortIdle     = 12 * time.Second
	shortIdleWarn = 10 * time.Second
)

// TestSessionBannerExpiringRefreshedExpiredInChromium drives the banner through the other
// live events of one session:
//
//  1. expiring (idle): "Your session expires in N s", counting down, with the end time
//     for screen readers and a "Stay signed in" button, which makes a real request (the
//     event stream never slides the idle timeout: GET /bff/user does) and clears the banner;
//  2. refreshed: an API call after the access token expired makes the BFF refresh it, and
//     the page shows the small "token refreshed" mark (it never sees the token);
//  3. ended (expired): left alone, the session idles out and the page, without a reload,
//     says it expired and shows the signed-out UI.
func TestSessionBannerExpiringRefreshedExpiredInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	demo := startDemo(t, func(c *config.Config) {
		c.Session.IdleTimeout, c.Session.ExpiryWarning = shortIdle, shortIdleWarn
	})
	b := startBrowser(t, execPath)
	openSPALoggedOut(b, demo)
	loginAs(b, demo, "alice", "wonderland")
	markNoReload(b)

	b.waitFor("the expiring banner", shortIdle+5*time.Second, `(() => {
		const t = document.getElementById('banner-text');
		return document.getElementById('banner').dataset.kind === 'expiring' && !!t &&
		  /^Your session expires in [0-9]+ s\.$/.test(t.textContent); })()`)
	said := eval[string](b, "read what screen readers hear", `document.querySelector('#banner .sr-only').textContent`)
	if !strings.HasPrefix(said, "Your session expires at ") {
		t.Errorf("the banner tells screen readers %q, want the end time", said)
	}
	// Stay signed in is a real request to the BFF (GET /bff/user, as the Resource Timing
	// entries of the page's fetches show), and then the banner clears.
	const userCalls = `performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname === '/bff/user').length`
	before := eval[int](b, "count /bff/user calls", userCalls)
	b.do("Stay signed in", 5*time.Second, chromedp.Click(chromedp.ID("stay")))
	b.waitFor("a /bff/user call and the banner clears", 5*time.Second, fmt.Sprintf(
		`%s > %d && document.getElementById('banner').dataset.kind === ''`, userCalls, before))

	first := callAPI(b, "")
	if eval[bool](b, "read the refreshed mark", `!document.getElementById('live-refreshed').hidden`) {
		t.Error(`the "token refreshed" mark shows before any refresh`)
	}
	waitPastExpiry(b, first)
	callAPI(b, first.TokenFingerprint)
	b.waitFor("the \"token refreshed\" mark", 10*time.Second, `(() => {
		const m = document.getElementById('live-refreshed');
		return !m.hidden && m.textContent.startsWith('token refreshed '); })()`)

	b.waitFor("the expired banner and the signed-out UI", 3*shortIdle, `(() => { const $ = (id) => document.getElementById(id);
		return $('banner').dataset.kind === 'ended' && $('banner').dataset.reason === 'expired' &&
		  $('banner').textContent === 'Your session expired. Log in again to go on.' &&
		  $('user').textContent === 'Not logged in.' && !$('login').hidden; })()`)
	if !eval[bool](b, "read the mark", `window.__noReload === true`) {
		t.Errorf("the page was loaded again: the banner must come from the live events")
	}
}
