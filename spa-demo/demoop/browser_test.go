package demoop

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/tokenward/bff/internal/chromium"
)

// callbackRecorder is a relying party's redirect URI as a browser reaches it.
type callbackRecorder struct {
	mu      sync.Mutex
	queries []url.Values
}

func (rp *callbackRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/bff/callback" {
		rp.mu.Lock()
		rp.queries = append(rp.queries, r.URL.Query())
		rp.mu.Unlock()
	}
	_, _ = w.Write([]byte(`<!DOCTYPE html><html><body><p id="done">back at the RP</p></body></html>`))
}

func (rp *callbackRecorder) received() []url.Values {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]url.Values(nil), rp.queries...)
}

// TestLoginPageInChromium drives the login page with a real browser: a wrong password
// shows the form with the error, the right one reaches the RP's callback with code, state
// and iss, and a second authorization in the same browser is answered by the SSO cookie.
func TestLoginPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browserPath := chromium.Path(t)
	rp := &callbackRecorder{}
	rpSrv := httptest.NewServer(rp)
	defer rpSrv.Close()
	redirect := rpSrv.URL + "/bff/callback"
	e := newTestEnv(t, func(c *Config) { c.Clients[0].RedirectURIs = []string{redirect} })
	cfg := e.oauth2Config(testClientID, testClientSecret, redirect, oauth2.AuthStyleInHeader)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browserPath),
		chromedp.ExecAllocatorOption(chromedp.NoSandbox), chromedp.ExecAllocatorOption(chromedp.Headless))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser without a deadline
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	defer cancelTimeout()

	first, second := newAttempt(cfg), newAttempt(cfg)
	var errText string
	err := chromedp.Do(ctx,
		chromedp.Navigate(first.url),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("error")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			errText, err = chromedp.Text(chromedp.ID("error"))(ctx, tg)
			return err
		}),
		chromedp.SendKeys(chromedp.ID("password"), "wonderland"), // username is kept
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("done")),
		chromedp.Navigate(second.url),
		chromedp.WaitVisible(chromedp.ID("done")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if errText != msgWrongPassword {
		t.Errorf("error text = %q", errText)
	}
	got := rp.received()
	if len(got) != 2 {
		t.Fatalf("RP callback reached %d times, want 2", len(got))
	}
	for i, want := range []authAttempt{first, second} {
		if q := got[i]; q.Get("code") == "" || q.Get("state") != want.state || q.Get("iss") != e.issuer {
			t.Errorf("callback %d: state=%q iss=%q code set=%v", i, q.Get("state"), q.Get("iss"), q.Get("code") != "")
		}
	}
}
