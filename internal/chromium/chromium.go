// Package chromium finds a Chromium-family browser for the browser tests (chromedp):
// Debian's chromium, or Google Chrome, or the chromium-browser of other distributions.
// Every browser test uses this one lookup, so they all skip (or fail) alike.
package chromium

import (
	"os"
	"os/exec"
	"testing"
)

// fixedPaths are tried first: Debian's package, the one CI installs.
var fixedPaths = []string{"/usr/bin/chromium"}

// names are looked up in PATH, in this order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// SkipMessage is the reason a browser test gives when no browser is found.
const SkipMessage = "no Chromium-family browser (/usr/bin/chromium, or chromium, chromium-browser, " +
	"google-chrome or google-chrome-stable in PATH): `apt-get install chromium` to run the browser tests"

// Find returns the path of the first browser found, or "" when there is none.
func Find() string { return find(fixedPaths) }

func find(fixed []string) string {
	for _, p := range fixed {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Path returns the browser for a test, or skips the test when there is none, except
// under CI=true, where a missing browser must not turn the browser tests into silent skips.
func Path(t testing.TB) string {
	t.Helper()
	if p := Find(); p != "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(SkipMessage + " (CI=true: a missing browser is a failure, not a skip)")
	}
	t.Skip(SkipMessage)
	return ""
}
