package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestMetricsFollowTheFlow: /metrics on the admin listener counts what a login, a
// refresh, an API call and a logout did, by route name and outcome.
func TestMetricsFollowTheFlow(t *testing.T) {
	var o testenv.Options
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)
	e.Login(t, nil, "alice", "/")
	time.Sleep(2100 * time.Millisecond)
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("api: %d", r.StatusCode)
	}
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	text := e.Scrape(t)
	for series, want := range map[string]string{
		`bff_logins_total{outcome="started"}`:                                   "1",
		`bff_logins_total{outcome="ok"}`:                                        "1",
		`bff_sessions_created_total`:                                            "1",
		`bff_sessions_ended_total{reason="logout"}`:                             "1",
		`bff_refreshes_total{outcome="ok"}`:                                     "1",
		`bff_http_requests_total{code="200",method="GET",route="/api/"}`:        "1",
		`bff_http_requests_total{code="302",method="GET",route="bff_callback"}`: "1",
		`bff_upstream_duration_seconds_count{route="/api/"}`:                    "1",
	} {
		if got := testenv.MetricValue(t, text, series); got != want {
			t.Errorf("%s = %s, want %s", series, got, want)
		}
	}
	if strings.Contains(text, "/api/x") {
		t.Error("a raw path became a label value")
	}
}

// TestLoginRateLimit: one client past its login budget gets 429, others do not.
func TestLoginRateLimit(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.RateLimit = config.RateLimit{PerMinute: 1, Burst: 3}
	}})
	c := e.NewClient(t)
	codes := []int{}
	for i := 0; i < 5; i++ {
		r, err := c.Get(e.URL("/bff/login"))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		codes = append(codes, r.StatusCode)
	}
	want := []int{302, 302, 302, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("login statuses %v, want %v", codes, want)
		}
	}
	// The callback shares the budget: it is refused before any state is looked at.
	r, err := c.Get(e.URL("/bff/callback?state=x&code=y"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("callback past the budget: %d", r.StatusCode)
	}
}
