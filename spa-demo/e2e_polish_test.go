package spademo_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A phone's viewport (an iPhone 12 to 15 held upright), in CSS pixels.
const (
	phoneWidth  = 390
	phoneHeight = 844
)

// TestDemoShowsNoNegativeTimeLeftNoStaleBadgeNoSidewaysScrollInChromium drives the demo on
// a phone-sized viewport through what used to mislead a person looking at it:
//
//  1. a stream opened before a refresh carries the token it opened with; once that token
//     has expired its events say so (tokenExpired, 0 s left), never a negative time left,
//     and the page explains why and that API calls carry the refreshed token;
//  2. the "token refreshed" badge shows for an answer that came with a new token and
//     clears on the next call that did not need a refresh;
//  3. with the API answer, the stream and its explanation shown, the page does not scroll
//     sideways at 390 px (nor does any <pre> inside it): long claims and events wrap.
//
// With BFF_E2E_ARTIFACTS set it saves the page at 390 px and at 1200 px there.
func TestDemoShowsNoNegativeTimeLeftNoStaleBadgeNoSidewaysScrollInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	execPath := chromiumPath(t)
	demo := startDemo(t)
	b := startBrowser(t, execPath)
	b.do("a phone's viewport", 5*time.Second,
		chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	openSPALoggedOut(b, demo)
	loginAs(b, demo, "alice", "wonderland")

	first := callAPI(b, "")
	checkBadge(b, false, "after the first call")
	b.do("Start stream", 5*time.Second, chromedp.Click(chromedp.ID("stream-start")))
	b.waitFor("the stream says its token expired", 3*tokenLifetime+10*time.Second,
		`document.getElementById('stream-token').dataset.expired === 'true'`)
	callAPI(b, first.TokenFingerprint)
	checkBadge(b, true, "after a call with a refreshed token")
	b.waitFor("the stream's explanation names the refreshed token's expiry", 10*time.Second,
		`document.getElementById('stream-token').textContent.includes("the last call got one that")`)
	checkStreamTellsTheTruth(b)
	checkNoSidewaysScroll(b, phoneWidth)
	saveLookArtifact(b, "demo-390.png")
	checkBadgeClearsOnACallWithoutRefresh(b)

	b.do("a desktop viewport", 5*time.Second, chromedp.EmulateViewport(viewportWidth, viewportHeight))
	checkNoSidewaysScroll(b, viewportWidth)
	saveLookArtifact(b, "demo-1200.png")
}

func checkBadge(b *browser, visible bool, when string) {
	b.t.Helper()
	if got := eval[bool](b, "read the badge", `!document.getElementById('refreshed').hidden`); got != visible {
		b.t.Errorf("%s: the \"token refreshed\" badge shows: %v, want %v", when, got, visible)
	}
}

// checkStreamTellsTheTruth: every event the page shows reports a time left of zero or
// more, zero exactly when the stream's token has expired; the page shows no negative
// number; and the explanation says the token expired and that API calls use another one.
func checkStreamTellsTheTruth(b *browser) {
	b.t.Helper()
	type event struct {
		Raw     string `json:"raw"`
		Left    *int64 `json:"left"`
		Expired *bool  `json:"expired"`
	}
	events := eval[[]event](b, "read the stream's events", `[...document.querySelectorAll('#stream [data-raw]')]
		.map((l) => l.dataset.raw).map((raw) => {
			const e = JSON.parse(raw);
			return { raw, left: e.tokenSecondsLeft ?? null, expired: e.tokenExpired ?? null };
		})`)
	if len(events) == 0 {
		b.fatalf("#stream shows no clock event")
	}
	sawExpired := false
	for _, e := range events {
		switch {
		case e.Left == nil || e.Expired == nil:
			b.t.Errorf("stream event %s lacks tokenSecondsLeft or tokenExpired", e.Raw)
		case *e.Left < 0:
			b.t.Errorf("stream event %s: a negative time left", e.Raw)
		case (*e.Left == 0) != *e.Expired:
			b.t.Errorf("stream event %s: 0 s left must mean expired, and only that", e.Raw)
		default:
			sawExpired = sawExpired || *e.Expired
		}
	}
	if !sawExpired {
		b.t.Errorf("no stream event says the stream's token expired: %+v", events)
	}
	note := b.text("stream-token")
	for _, want := range []string{"expired at", "when the stream opened", "the token the BFF refreshed"} {
		if !strings.Contains(note, want) {
			b.t.Errorf("#stream-token = %q, want it to say %q", note, want)
		}
	}
	text := eval[string](b, "read the page", `document.body.innerText`)
	if neg := negativeNumber(text); neg != "" {
		b.t.Errorf("the page shows a negative number %q:\n%s", neg, text)
	}
}

// negativeNumber finds a "-<digit>" that is not inside a word, a date or an id (such as
// 2026-12-04 or a UUID): a minus sign after a space, a colon or a line start.
func negativeNumber(s string) string {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' && (i == 0 || strings.ContainsRune(" :\n(", rune(s[i-1]))) {
			return s[i:min(len(s), i+6)]
		}
	}
	return ""
}

// checkNoSidewaysScroll: neither the page nor any <pre> in it is wider than the viewport
// or its box (a person on a phone would have to scroll sideways to read it).
func checkNoSidewaysScroll(b *browser, width int) {
	b.t.Helper()
	b.waitFor("the layout at the new width", 5*time.Second, fmt.Sprintf(`window.innerWidth === %d`, width))
	type overflow struct {
		What                     string
		ScrollWidth, ClientWidth int
	}
	wide := eval[[]overflow](b, "measure the layout", `[document.documentElement, ...document.querySelectorAll('pre, dd, .note')]
		.filter((el) => el.scrollWidth > el.clientWidth)
		.map((el) => ({ What: el === document.documentElement ? 'the page' : el.tagName.toLowerCase() + '#' + el.id,
			ScrollWidth: el.scrollWidth, ClientWidth: el.clientWidth }))`)
	for _, o := range wide {
		b.t.Errorf("at %d px, %s scrolls sideways: scrollWidth %d > clientWidth %d", width, o.What, o.ScrollWidth, o.ClientWidth)
	}
}

// checkBadgeClearsOnACallWithoutRefresh calls the API until an answer comes with the same
// token as the one before (the token lives 6 s and is refreshed 1 s before it expires, so
// the first try almost always does): that answer shows no badge. A call that did get a
// new token must show it.
func checkBadgeClearsOnACallWithoutRefresh(b *browser) {
	b.t.Helper()
	for try := 1; try <= 10; try++ {
		before := eval[string](b, "read data-fingerprint", `document.getElementById('api-result').dataset.fingerprint`)
		calls := eval[string](b, "read data-calls", `document.getElementById('api-result').dataset.calls || '0'`)
		b.do("Call API", 5*time.Second, chromedp.Click(chromedp.ID("call")))
		b.waitFor("the call finishes", 10*time.Second,
			fmt.Sprintf(`(document.getElementById('api-result').dataset.calls || '0') !== %q`, calls))
		if s := eval[string](b, "read data-status", `document.getElementById('api-result').dataset.status`); s != "200" {
			b.fatalf("Call API answered %s", s)
		}
		after := eval[string](b, "read data-fingerprint", `document.getElementById('api-result').dataset.fingerprint`)
		if after != before {
			checkBadge(b, true, fmt.Sprintf("call %d, with a refreshed token", try))
			continue
		}
		checkBadge(b, false, fmt.Sprintf("call %d, with the same token as the call before", try))
		return
	}
	b.t.Error("10 calls in a row each came with a new token: the badge's clearing was never seen")
}

// saveLookArtifact saves the whole page into $BFF_E2E_ARTIFACTS, when set, to look at.
func saveLookArtifact(b *browser, name string) {
	b.t.Helper()
	if os.Getenv("BFF_E2E_ARTIFACTS") == "" {
		return
	}
	png := run(b, "screenshot", 10*time.Second, chromedp.FullScreenshot(100))
	path, err := writeArtifact(name, png)
	if err != nil {
		b.fatalf("save %s: %v", name, err)
	}
	b.t.Logf("saved %s", path)
}
