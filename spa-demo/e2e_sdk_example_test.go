package spademo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	spademo "github.com/tokenward/bff/spa-demo"
)

// exampleDir is the npm package's React + Vite example (clients/js/example).
var exampleDir = filepath.Join("..", "clients", "js")

// TestSDKExampleInChromium: the @tokenward/client React example, built with Vite from the
// package's build output, served by the BFF from spa.dir with the demo OP as the provider
// and the demo API as the route (and a CSRF header that is not the default), logs in, calls the API through the BFF and logs out in
// chromium. It proves the package as an app installs it: the provider, the hooks, the
// CSRF header read from /bff/client-config, the login and logout navigations.
//
// Building needs npm, so it runs only when asked: under CI=true (where a missing npm
// fails the test) or with BFF_E2E_SDK_EXAMPLE=1; otherwise it skips and says so.
func TestSDKExampleInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	dist := buildSDKExample(t)
	execPath := chromiumPath(t)
	demo := startDemoServingDir(t, dist)
	b := startBrowser(t, execPath)
	alice := findUser(t, &demoEnv{Demo: demo}, "alice")

	b.do("open the example, logged out", 15*time.Second,
		chromedp.Navigate(demo.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login")))
	if title := eval[string](b, "the page's title", `document.title`); !strings.Contains(title, "@tokenward/client") {
		b.fatalf("the BFF served %q, not the example", title)
	}
	b.do("log in at the OP and come back", 30*time.Second,
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), alice.Username),
		chromedp.SendKeys(chromedp.ID("password"), alice.Password),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("user")))
	if got := b.text("user"); got != alice.Name {
		b.t.Errorf("#user = %q after login, want %q", got, alice.Name)
	}

	b.do("Call API", 5*time.Second, chromedp.Click(chromedp.ID("call")))
	b.waitFor("the API answers through the BFF", 10*time.Second,
		`document.getElementById('result')?.dataset.status === '200'`)
	var me struct {
		Sub string `json:"sub"`
	}
	raw := b.text("result")
	if err := json.Unmarshal([]byte(raw), &me); err != nil || me.Sub != alice.Subject {
		b.fatalf("#result = %s (%v), want the demo API's answer for %s", raw, err, alice.Subject)
	}

	eval[bool](b, "mark the page", `window.__beforeLogout = true`)
	b.do("Log out", 5*time.Second, chromedp.Click(chromedp.ID("logout")))
	b.waitFor("back on the example after the OP's logout, logged out", 20*time.Second, fmt.Sprintf(
		`location.href === %q && window.__beforeLogout === undefined && !!document.getElementById('login')`, demo.URL+"/"))
}

// buildSDKExample builds the example into clients/js/example/dist (npm ci first when the
// package has no node_modules) and returns that directory, or skips when not asked.
func buildSDKExample(t *testing.T) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if !ci && os.Getenv("BFF_E2E_SDK_EXAMPLE") != "1" {
		t.Skip("the SDK example needs an npm build: set BFF_E2E_SDK_EXAMPLE=1 (with npm installed) to run it; CI=true runs it")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		if ci {
			t.Fatal("npm is not installed, and CI=true runs the SDK example: install nodejs and npm (.ci/run does)")
		}
		t.Skip("BFF_E2E_SDK_EXAMPLE=1 but npm is not installed: install nodejs and npm")
	}
	if _, err := os.Stat(filepath.Join(exampleDir, "node_modules")); err != nil {
		npm(t, "ci", "--no-audit", "--no-fund")
	}
	npm(t, "run", "example:build")
	dist, err := filepath.Abs(filepath.Join(exampleDir, "example", "dist"))
	if err != nil {
		t.Fatal(err)
	}
	return dist
}

func npm(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = exampleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm %s in clients/js: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// startDemoServingDir starts the demo (OP, API, BFF) with the SPA served from dir through
// spa.dir instead of the demo's embedded SPA (bff.WithSPA(nil) undoes the demo's own
// WithSPA, so the configuration's spa.dir applies, as in a deployment).
func startDemoServingDir(t *testing.T, dir string) *spademo.Demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := spademo.Start(ctx, spademo.DemoConfig{
		Listen: "127.0.0.1:0", OPListen: "127.0.0.1:0", APIListen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler),
		Configure: func(c *config.Config) {
			c.SPA.Dir = dir
			// Not the default: the client must read it from /bff/client-config.
			c.CSRF.HeaderName = "X-Requested-By"
			if url := os.Getenv("BFF_TEST_REDIS_URL"); url != "" {
				c.Session.Store, c.Session.RedisURL = "redis", url
			}
		},
		Options: []bff.Option{bff.WithSPA(nil)},
	})
	if err != nil {
		cancel()
		t.Fatalf("start the demo with spa.dir %s: %v", dir, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = d.Wait()
	})
	waitReady(t, d)
	return d
}
