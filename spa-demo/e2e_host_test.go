package spademo_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// aliasOf is the demo's URL under another loopback name: 127.0.0.1 for localhost.
func aliasOf(t *testing.T, demo *demoEnv) string {
	t.Helper()
	if !strings.HasPrefix(demo.URL, "http://localhost:") {
		t.Fatalf("the demo's URL %s is not on localhost", demo.URL)
	}
	return strings.Replace(demo.URL, "localhost", "127.0.0.1", 1)
}

// TestDemoOnTheOtherLoopbackNameRedirectsFirst: a login started on 127.0.0.1 would set
// its login cookie there while the IdP sends the browser back to localhost, where the
// callback finds no login ("Sign-in expired"). Any navigation to the alias is sent to the
// printed URL before a cookie is set; a non-navigation gets 421 with the address.
func TestDemoOnTheOtherLoopbackNameRedirectsFirst(t *testing.T) {
	demo := startDemo(t)
	alias := aliasOf(t, demo)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.Get(alias + "/bff/login?returnTo=%2Fdeep%2Flink")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if want := demo.URL + "/bff/login?returnTo=%2Fdeep%2Flink"; r.StatusCode != http.StatusFound || r.Header.Get("Location") != want {
		t.Fatalf("login on the alias: %d to %q, want 302 to %q", r.StatusCode, r.Header.Get("Location"), want)
	}
	if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("the alias set cookies: %q", sc)
	}
	r, err = c.Post(alias+"/api/me", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("POST on the alias: %d, want 421", r.StatusCode)
	}
}

// TestDemoLoginFromTheOtherLoopbackNameInChromium: a user who types 127.0.0.1 instead of
// the printed localhost still logs in (Chromium decides which host a cookie goes to).
func TestDemoLoginFromTheOtherLoopbackNameInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	demo := startDemo(t)
	b := startBrowser(t, execPath)
	b.do("open the SPA on 127.0.0.1", 15*time.Second, chromedp.Navigate(aliasOf(t, demo)+"/"))
	b.waitFor("the SPA is ready on the printed URL", 10*time.Second, `document.body.dataset.ready === 'true'`)
	loginAs(b, demo, "alice", "wonderland") // ends on demo.URL with alice shown, or fails
}
