package handler_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/testenv"
)

// TestDeepLinkSurvivesLogin: the returnTo values real apps build (a query value that is a
// URL, raw or percent-encoded; a percent-encoded UTF-8 path; brackets in the query; a
// fragment; a hash route) survive a whole login: the callback's Location is exactly the
// deep link, never a refusal or a rewritten value.
func TestDeepLinkSurvivesLogin(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	for _, link := range []string{
		"/search/caf%C3%A9?next=https%3A%2F%2Fexample.com%2Fx%3Fa%3D1&raw=https://example.com/y#results",
		"/%E4%B8%AD/orders?next=https://example.com/x&filter[status]=open",
		"/#/orders/42?tab=2",
	} {
		t.Run(link, func(t *testing.T) {
			resp := e.Login(t, e.NewClient(t), "alice", link)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != link {
				t.Fatalf("callback: %d to %q, want 302 to exactly %q", resp.StatusCode, resp.Header.Get("Location"), link)
			}
		})
	}
}

// TestRefusedReturnToOffersTheWayHome_OpenRedirect: every open-redirect shape is refused
// at /bff/login with the 400 HTML page, which sends the user nowhere by itself (no
// Location) and offers the home page, "/", as the way out.
func TestRefusedReturnToOffersTheWayHome_OpenRedirect(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	for _, rt := range []string{
		"https://evil.example", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "/%5Cevil.example",
		"javascript:alert(1)", "/bff/logout", "/BFF/", "/x/../bff/", "/x/%2e%2e/bff/logout", "/.//evil.example",
		"/app\r\nLocation: https://evil.example", "/caf\u00e9", "/%FF", "/a b", "/" + strings.Repeat("a", 2048),
	} {
		t.Run(rt[:min(len(rt), 40)], func(t *testing.T) {
			resp, err := e.NewClient(t).Get(e.URL("/bff/login?returnTo=" + url.QueryEscape(rt)))
			if err != nil {
				t.Fatal(err)
			}
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d location %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if !strings.Contains(body, `<a id="home" href="/">Go to the home page</a>`) {
				t.Fatalf("the refusal offers no way home: %s", body)
			}
		})
	}
}

// TestErrorPagesKeepRetryAndOfferHome: a failed callback's page offers both a new
// sign-in and the home page.
func TestErrorPagesKeepRetryAndOfferHome(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	resp, err := e.NewClient(t).Get(e.URL("/bff/callback?state=unknown&code=x"))
	if err != nil {
		t.Fatal(err)
	}
	body := testenv.ReadAll(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `<a id="retry" href="/bff/login">`) ||
		!strings.Contains(body, `<a id="home" href="/">`) {
		t.Fatalf("callback page: %d %s", resp.StatusCode, body)
	}
}
