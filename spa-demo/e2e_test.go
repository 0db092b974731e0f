package spademo_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenward/bff/spa-demo/demoop"
)

// TestDemoInChromium drives `bff demo` in a real headless chromium, the way a user does:
//
//  1. the SPA (on localhost) says "Not logged in"; /bff/client.js reports the API's 401
//     unauthenticated to onSessionEnd listeners (and not to unsubscribed ones);
//  2. Log in → the OP's login page (on 127.0.0.1: another site) → alice signs in → the
//     browser is back on the SPA, which shows alice with no reload. The navigation that
//     follows the cross-site redirect carries no SameSite=Strict session cookie (the
//     browser withholds it); the SPA's own fetch of /bff/user does carry it;
//  3. the session cookie is __Host-bff, HttpOnly, Secure, SameSite=Strict, Path=/, and
//     document.cookie never shows it;
//  4. Call API → the demo API answers with the fingerprint of the access token the OP
//     issued; after that token has expired, Call API again → a new token (the refresh),
//     the same session (createdAt unchanged), the "token refreshed" badge;
//  5. Start stream → server-sent events arrive through the BFF (fetch, not EventSource);
//  6. Log out → the OP's end_session → back on the SPA, logged out, the cookie gone, the
//     refresh token revoked at the OP;
//  7. on a deep link, an API call without a session makes /bff/client.js send the browser
//     to /bff/login with returnTo; after signing in (as bob) it is back on that link;
//  8. no response the page received from the BFF contains an access or a refresh token
//     (the only JWT is the ID token in the logout URL's id_token_hint: an ID token is
//     neither, and RP-initiated logout needs it), and no log line holds a token, the
//     authorization code or the cookie value.
//
// With BFF_E2E_SCREENSHOT=1 it also writes docs/img/demo.png (the logged-in SPA after
// the API call and the stream). A failed step saves a screenshot and prints its path.
func TestDemoInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	demo := startDemo(t)
	b := startBrowser(t, execPath)
	traffic := recordNetwork(b, demo.URL)

	openSPALoggedOut(b, demo)
	checkClientReportsSessionEnd(b)
	loginAs(b, demo, "alice", "wonderland")
	checkStrictCookieOnlyOnTheSPAsFetch(b, traffic, demo)
	cookie := checkSessionCookie(b, demo)
	checkScriptsCannotReadTheCookie(b, cookie)

	first := callAPI(b, "")
	before := bffUser(b)
	waitPastExpiry(b, first)
	second := callAPI(b, first.TokenFingerprint)
	b.do("the page shows the refresh", 2*time.Second, chromedp.WaitVisible(chromedp.ID("refreshed")))
	checkSameSession(b, before, bffUser(b))
	checkAPISawTheIssuedTokens(t, demo, first, second)

	streamEvents(b, 2)
	checkScriptsCannotReadTheCookie(b, cookie)
	saveDemoScreenshot(b)

	logout(b, traffic, demo)
	checkLoggedOutEverywhere(b, demo)
	loginAgainFromA401(b, demo, "/deep/link?tab=2", "bob")
	checkNoTokenReachedThePage(b, traffic, demo, cookie)
	checkLogsHoldNoSecret(b, traffic, demo, cookie)
}

func openSPALoggedOut(b *browser, demo *demoEnv) {
	b.t.Helper()
	b.do("open the SPA", 15*time.Second, chromedp.Navigate(demo.URL+"/"))
	b.waitFor("the SPA asked the BFF who is logged in", 10*time.Second, `document.body.dataset.ready === 'true'`)
	if got := b.text("user"); got != "Not logged in." {
		b.fatalf("#user = %q before login, want %q", got, "Not logged in.")
	}
	b.do("the login button shows", 5*time.Second, chromedp.WaitVisible(chromedp.ID("login")))
}

// checkClientReportsSessionEnd: an API call without a session answers 401 unauthenticated,
// which /bff/client.js hands to its onSessionEnd listeners; an unsubscribed listener hears
// nothing, and with redirectOnExpiry: false the page stays where it is.
func checkClientReportsSessionEnd(b *browser) {
	b.t.Helper()
	type result struct {
		Status int      `json:"status"`
		Heard  []string `json:"heard"`
		Path   string   `json:"path"`
	}
	got := eval[result](b, "/bff/client.js on a 401", `(async () => {
		const { createBffClient } = await import('/bff/client.js');
		const bff = createBffClient({ redirectOnExpiry: false });
		const heard = [];
		const off = bff.onSessionEnd((p) => heard.push('unsubscribed:' + p.type));
		bff.onSessionEnd((p) => heard.push('listener:' + p.type));
		off();
		const r = await bff.fetch('/api/me');
		return { status: r.status, heard, path: location.pathname };
	})()`)
	want := result{Status: 401, Heard: []string{"listener:unauthenticated"}, Path: "/"}
	if got.Status != want.Status || !slices.Equal(got.Heard, want.Heard) || got.Path != want.Path {
		b.t.Errorf("/bff/client.js on a 401 without a session: got %+v, want %+v", got, want)
	}
}

// loginAs clicks Log in, signs in at the OP and waits for the SPA to show the user. There
// is no reload anywhere: the page the redirect chain ends on renders the user itself.
func loginAs(b *browser, demo *demoEnv, username, password string) {
	b.t.Helper()
	b.do("Log in leads to the OP's login page", 15*time.Second,
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("username")))
	if loc := run(b, "location", 5*time.Second, chromedp.Location()); !strings.HasPrefix(loc, demo.OPURL+"/") {
		b.fatalf("the login page is not the OP's (%s)", demo.OPURL)
	}
	b.do("sign in at the OP and come back to the SPA", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("user-user")))
	if loc := run(b, "location", 5*time.Second, chromedp.Location()); loc != demo.URL+"/" {
		b.fatalf("after login the browser is on %q, want the SPA %q", loc, demo.URL+"/")
	}
	user := findUser(b.t, demo, username)
	if got := b.text("user-user"); got != user.Name {
		b.t.Errorf("#user-user = %q, want %q", got, user.Name)
	}
	if got := b.text("user-subject"); got != user.Subject {
		b.t.Errorf("#user-subject = %q, want %q", got, user.Subject)
	}
}

// meAnswer is the demo API's GET /me as #api-result shows it.
type meAnswer struct {
	Sub              string    `json:"sub"`
	ExpiresAt        time.Time `json:"expiresAt"`
	SecondsLeft      int64     `json:"secondsLeft"`
	TokenFingerprint string    `json:"tokenFingerprint"`
}

// callAPI clicks Call API and waits for a 200 whose token fingerprint differs from
// previous.
func callAPI(b *browser, previous string) meAnswer {
	b.t.Helper()
	b.do("Call API", 5*time.Second, chromedp.Click(chromedp.ID("call")))
	b.waitFor("the API answers 200 with a new token fingerprint", 10*time.Second, fmt.Sprintf(
		`(() => { const r = document.getElementById('api-result');
		  return r.dataset.status === '200' && !!r.dataset.fingerprint && r.dataset.fingerprint !== %q; })()`, previous))
	raw := eval[string](b, "read #api-result", `document.getElementById('api-result').textContent`)
	var me meAnswer
	if err := json.Unmarshal([]byte(raw), &me); err != nil {
		b.fatalf("#api-result is not the API's JSON: %v", err)
	}
	if fp := eval[string](b, "read data-fingerprint", `document.getElementById('api-result').dataset.fingerprint`); fp != me.TokenFingerprint {
		b.t.Errorf("data-fingerprint %q differs from the API's tokenFingerprint %q", fp, me.TokenFingerprint)
	}
	return me
}

// userAnswer is GET /bff/user.
type userAnswer struct {
	Sub     string `json:"sub"`
	Session struct {
		CreatedAt time.Time `json:"createdAt"`
		ExpiresAt time.Time `json:"expiresAt"`
	} `json:"session"`
}

// bffUser fetches /bff/user from the page, as the SPA does.
func bffUser(b *browser) userAnswer {
	b.t.Helper()
	return eval[userAnswer](b, "GET /bff/user from the page", `fetch('/bff/user', {headers: {'X-CSRF': '1'}})
		.then((r) => r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)))`)
}

// waitPastExpiry waits until the access token behind me has expired.
func waitPastExpiry(b *browser, me meAnswer) {
	b.t.Helper()
	wait := time.Until(me.ExpiresAt) + 300*time.Millisecond
	if wait > 2*tokenLifetime {
		b.fatalf("the access token expires in %v; the demo was started with %v", wait, tokenLifetime)
	}
	b.sleep(wait)
}

func checkSameSession(b *browser, before, after userAnswer) {
	b.t.Helper()
	if after.Sub != before.Sub || !after.Session.CreatedAt.Equal(before.Session.CreatedAt) {
		b.t.Errorf("the refresh changed the session: before sub=%q createdAt=%v, after sub=%q createdAt=%v",
			before.Sub, before.Session.CreatedAt, after.Sub, after.Session.CreatedAt)
	}
	if before.Session.CreatedAt.IsZero() {
		b.t.Error("/bff/user has no session.createdAt")
	}
}

// checkAPISawTheIssuedTokens: the API received exactly the tokens the OP issued to the
// BFF, the login's and then the refresh's.
func checkAPISawTheIssuedTokens(t *testing.T, demo *demoEnv, first, second meAnswer) {
	t.Helper()
	access, _, _ := demo.tokens.snapshot()
	if len(access) != 2 {
		t.Fatalf("the OP issued %d access tokens by the second call, want 2 (login, one refresh)", len(access))
	}
	for i, me := range []meAnswer{first, second} {
		if me.TokenFingerprint != fingerprint(access[i]) {
			t.Errorf("call %d: the API saw token %s, the OP issued %s", i+1, me.TokenFingerprint, fingerprint(access[i]))
		}
	}
}

// streamEvents starts the stream and waits for n events.
func streamEvents(b *browser, n int) {
	b.t.Helper()
	b.do("Start stream", 5*time.Second, chromedp.Click(chromedp.ID("stream-start")))
	b.waitFor(fmt.Sprintf("%d stream events", n), 10*time.Second,
		fmt.Sprintf(`Number(document.getElementById('stream').dataset.events || 0) >= %d`, n))
	// Each event shows as a short line; the event's data, as the API sent it, is the line's
	// data-raw (and title).
	got := eval[[]string](b, "read #stream", `[document.getElementById('stream').textContent,
		...[...document.querySelectorAll('#stream [data-raw]')].map((l) => l.dataset.raw)]`)
	if len(got) < 1+n || !strings.Contains(got[0], "stream token:") || !strings.Contains(got[1], "tokenSecondsLeft") {
		b.t.Errorf("#stream shows %q, want the API's clock events", got)
	}
}

// saveDemoScreenshot writes docs/img/demo.png when BFF_E2E_SCREENSHOT=1 (so that a normal
// run never changes the tree): the logged-in SPA after the refresh and the stream.
func saveDemoScreenshot(b *browser) {
	b.t.Helper()
	if os.Getenv("BFF_E2E_SCREENSHOT") != "1" {
		return
	}
	b.waitFor("a third stream event, for the picture", 5*time.Second,
		`Number(document.getElementById('stream').dataset.events || 0) >= 3`)
	// The whole page, 1200 px wide: the stream card is below the fold of a 900 px window.
	png := run(b, "screenshot", 10*time.Second, chromedp.FullScreenshot(100))
	path := filepath.Join("..", "docs", "img", "demo.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.fatalf("screenshot: %v", err)
	}
	b.t.Logf("wrote %s", path)
}

// logout clicks Log out and waits until the browser has gone through the OP's
// end_session and is back on a freshly loaded SPA that says "Not logged in".
func logout(b *browser, traffic *netRecorder, demo *demoEnv) {
	b.t.Helper()
	// The old page renders "Not logged in" before it navigates away: mark it, so that
	// the wait below only accepts the page loaded after the OP sent the browser back.
	eval[bool](b, "mark the page", `window.__beforeLogout = true`)
	b.do("Log out", 5*time.Second, chromedp.Click(chromedp.ID("logout")))
	b.waitFor("back on the SPA after the OP's logout", 20*time.Second, fmt.Sprintf(
		`location.href === %q && window.__beforeLogout === undefined &&
		 document.body.dataset.ready === 'true' &&
		 document.getElementById('user').textContent === 'Not logged in.'`, demo.URL+"/"))
	traffic.sync(b)
	hops, _, _, _ := traffic.snapshot()
	checkWentThroughEndSession(b.t, hops, demo)
}

// loginAgainFromA401 opens the SPA on a deep link with no session and makes an API call
// through /bff/client.js (redirectOnExpiry defaults to true): the 401 sends the browser to
// /bff/login?returnTo=<the link>, the OP asks for a password (its session ended with the
// logout), and after signing in the browser is back on the deep link, logged in.
func loginAgainFromA401(b *browser, demo *demoEnv, link, username string) {
	b.t.Helper()
	b.do("open a deep link", 15*time.Second, chromedp.Navigate(demo.URL+link))
	b.waitFor("the SPA on the deep link is ready", 10*time.Second, `document.body.dataset.ready === 'true'`)
	eval[bool](b, "an API call without a session", `import('/bff/client.js')
		.then(({ createBffClient }) => { createBffClient().fetch('/api/me'); return true; })`)
	b.do("the 401 leads to the OP's login page", 15*time.Second, chromedp.WaitVisible(chromedp.ID("username")))
	user := findUser(b.t, demo, username)
	b.do("sign in at the OP and come back to the deep link", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("username"), user.Username),
		chromedp.SendKeys(chromedp.ID("password"), user.Password),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("user-user")))
	if loc := run(b, "location", 5*time.Second, chromedp.Location()); loc != demo.URL+link {
		b.t.Errorf("after the login the browser is on %q, want the deep link %q", loc, demo.URL+link)
	}
	if got := b.text("user-user"); got != user.Name {
		b.t.Errorf("#user-user = %q after the second login, want %q", got, user.Name)
	}
}

func findUser(t *testing.T, demo *demoEnv, username string) demoop.User {
	t.Helper()
	for _, u := range demo.Users {
		if u.Username == username {
			return u
		}
	}
	t.Fatalf("no demo user %q", username)
	return demoop.User{}
}
