package spademo_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenward/bff/internal/chromium"
)

// The browser window of the end-to-end test: also the size of docs/img/demo.png.
const (
	viewportWidth  = 1200
	viewportHeight = 900
)

// chromiumPath finds the browser (internal/chromium): it skips the test without one,
// except under CI=true, where a missing browser must not turn the most important test
// into a silent skip.
func chromiumPath(t *testing.T) string { return chromium.Path(t) }

// browser is one headless chromium with one tab. Every wait it offers is time-boxed;
// a failed step saves a screenshot and stops the test.
//
// Concurrency: only the test goroutine drives the tab (the network recorder issues its
// own protocol commands, which do not touch the page's DOM).
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab; no deadline (it bounds the browser's life)
	name string          // "" for the first tab of a browser; else added to its screenshot's name
}

// startBrowser starts chromium with a fresh profile in a temporary directory, with the
// extra options given. The browser stops at the end of the test, before the directory is
// removed.
func startBrowser(t *testing.T, execPath string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	profile := t.TempDir() // removed after the browser has exited (cleanups run LIFO)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(viewportWidth, viewportHeight),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc) // waits for the browser process to exit
	return openTab(t, "", allocCtx)
}

// openTab opens a tab (a target) under parent: the first of a new browser, or another one
// in b.ctx's browser (newTab, newDevice). name tells its failure screenshot apart.
func openTab(t *testing.T, name string, parent context.Context, opts ...chromedp.ContextOption) *browser {
	t.Helper()
	ctx, cancelTab := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancelTab)

	// The first Do starts the browser (or the target) and binds its life to ctx, so it
	// cannot carry a deadline itself: bound it from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.EmulateViewport(viewportWidth, viewportHeight)) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium%s: %v", name, err)
		}
	case <-time.After(30 * time.Second):
		cancelTab()
		t.Fatalf("start chromium%s: no answer within 30s", name)
	}
	b := &browser{t: t, ctx: ctx, name: name}
	t.Cleanup(b.screenshotOnFailure) // runs before the tab closes
	return b
}

// newTab opens another tab in b's browser: the same cookies, so the same session, and a
// BroadcastChannel shared with b.
func (b *browser) newTab(name string) *browser { return openTab(b.t, name, b.ctx) }

// newDevice opens a tab in a new browser context of b's browser (like a fresh profile):
// its own cookies and storage and no channel to b's tabs, as another device would be.
func (b *browser) newDevice(name string) *browser {
	return openTab(b.t, name, b.ctx, chromedp.WithNewBrowserContext())
}

// do runs actions within timeout; on error it saves a screenshot and fails the test.
func (b *browser) do(step string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("%s (on %s): %v", step, b.page(), err)
	}
}

// run runs one action that returns a value, within timeout.
func run[T any](b *browser, step string, timeout time.Duration, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fatalf("%s (on %s): %v", step, b.page(), err)
	}
	return v
}

// text is the visible text of the element with id.
func (b *browser) text(id string) string {
	b.t.Helper()
	return run(b, "read #"+id, 5*time.Second, chromedp.Text(chromedp.ID(id)))
}

// eval evaluates a JavaScript expression in the page (awaiting a promise result).
func eval[T any](b *browser, step, expr string) T {
	b.t.Helper()
	return run(b, step, 10*time.Second, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitFor evaluates the boolean JavaScript expression cond every 50 ms until it is true
// or timeout passes. Unlike chromedp.Poll it survives navigations (an evaluation that
// fails while a new document loads is retried), so it can wait for the page that a
// redirect chain ends on.
func (b *browser) waitFor(step string, timeout time.Duration, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	var last error
	for {
		ectx, ecancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](cond))
		ecancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("condition still false")
			}
			b.fatalf("%s (on %s): not within %v: %v (waiting for %s)", step, b.page(), timeout, last, cond)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sleep waits d, bounded by the browser's life.
func (b *browser) sleep(d time.Duration) {
	b.t.Helper()
	select {
	case <-time.After(d):
	case <-b.ctx.Done():
		b.t.Fatalf("browser gone while waiting: %v", b.ctx.Err())
	}
}

// screenshot returns a PNG of the viewport.
func (b *browser) screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Errorf(format, args...)
	b.t.FailNow() // the cleanup saves the screenshot
}

// screenshotOnFailure saves what the browser showed when the test failed, into
// $BFF_E2E_ARTIFACTS or a new temporary directory that outlives the test, and prints
// where.
func (b *browser) screenshotOnFailure() {
	if !b.t.Failed() || b.ctx.Err() != nil {
		return
	}
	png, err := b.screenshot()
	if err != nil {
		b.t.Logf("failure screenshot: %v", err)
		return
	}
	path, err := writeArtifact(b.t.Name()+b.name+".png", png)
	if err != nil {
		b.t.Logf("failure screenshot: %v", err)
		return
	}
	b.t.Logf("failure screenshot of %s saved to %s", b.page(), path)
}

// page is the address the tab shows, without its query (which may hold a code or an
// id_token_hint), for failure messages.
func (b *browser) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(location unknown)"
	}
	if u, err := url.Parse(loc); err == nil {
		u.RawQuery, u.Fragment = "", ""
		return u.String()
	}
	return "(unparsable location)"
}

func writeArtifact(name string, data []byte) (string, error) {
	dir := os.Getenv("BFF_E2E_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "bff-e2e-"); err != nil {
			return "", fmt.Errorf("artifact dir: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("artifact dir: %w", err)
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write artifact: %w", err)
	}
	return path, nil
}
