package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/refresh"
)

// stoppedClock is the BFF's clock in these tests: it moves only when the test advances
// it, so that cooldowns and back-offs are crossed by the test, never by the machine's speed.
type stoppedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stoppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stoppedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestUpstreamRejectingEveryTokenCostsOneRefreshPerCooldown: an upstream that answers 401
// to every request used to make every API call a refresh grant (and a rotation) at the
// IdP. Now 50 calls within oidc.forcedRefreshCooldown cost one grant, and each 401 reaches
// the client as the upstream sent it; once the cooldown has passed, one more may.
func TestUpstreamRejectingEveryTokenCostsOneRefreshPerCooldown(t *testing.T) {
	var hits atomic.Int32
	strict := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"upstream":"says no"}`)
	}))
	t.Cleanup(strict.Close)
	clk := &stoppedClock{now: time.Now()}
	logs := new(logbuf.Buffer)
	e := testenv.Start(t, testenv.Options{
		AccessTokenLifetime: 10 * time.Minute, // never due for a refresh of its own here
		BFFOptions:          []bff.Option{bff.WithClock(clk.Now)},
		Log:                 logs,
		Configure: func(c *config.Config) {
			c.Routes = append(c.Routes, config.Route{Path: "/strict/", Upstream: strict.URL, StripPrefix: "/strict"})
		},
	})
	t.Cleanup(func() { logFailures(t, logs) })
	e.Login(t, nil, "alice", "/")

	for i := range 50 {
		r := e.Do(t, nil, http.MethodGet, "/strict/orders", nil)
		body := testenv.ReadAll(t, r)
		if r.StatusCode != http.StatusUnauthorized || body != `{"upstream":"says no"}` ||
			r.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Fatalf("call %d: got %d %q %s, want the upstream's own 401", i, r.StatusCode, r.Header.Get("WWW-Authenticate"), body)
		}
		clk.Advance(e.Config.OIDC.ForcedRefreshCooldown / 100)
	}
	if n := e.OP.Stats().RefreshGrants; n != 1 {
		t.Fatalf("50 upstream 401s within the cooldown cost %d refresh grants, want 1", n)
	}
	if n := hits.Load(); n != 51 {
		t.Fatalf("the upstream saw %d requests, want 51 (one retry, after the one refresh)", n)
	}
	clk.Advance(e.Config.OIDC.ForcedRefreshCooldown / 2)
	if r := e.Do(t, nil, http.MethodGet, "/strict/orders", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the cooldown: %d", r.StatusCode)
	}
	if n, h := e.OP.Stats().RefreshGrants, hits.Load(); n != 2 || h != 53 {
		t.Fatalf("after the cooldown: %d grants, %d upstream requests; want 2 and 53", n, h)
	}
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "forced refresh") {
			t.Fatalf("a declined forced refresh is routine, not a warning: %s", line)
		}
	}
}

// TestIdPOutageBacksOffInsteadOfCallingTheIdPPerRequest: with the token endpoint down and
// the session's token expired, 50 API calls make one call to the IdP, not 50: the session
// backs off, and every call is answered at once with 503 idp_unavailable and Retry-After.
// Once the IdP is back and the back-off has passed, the next call succeeds.
func TestIdPOutageBacksOffInsteadOfCallingTheIdPPerRequest(t *testing.T) {
	clk := &stoppedClock{now: time.Now()}
	logs := new(logbuf.Buffer)
	e := testenv.Start(t, testenv.Options{BFFOptions: []bff.Option{bff.WithClock(clk.Now)}, Log: logs})
	t.Cleanup(func() { logFailures(t, logs) })
	e.Login(t, nil, "alice", "/")
	clk.Advance(2 * time.Minute) // the 60 s access token has expired
	e.OP.SetTokenEndpointStatus(http.StatusServiceUnavailable)

	for i := range 50 {
		r := e.Do(t, nil, http.MethodGet, "/api/orders", nil)
		body := testenv.ReadAll(t, r)
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(body, `"idp_unavailable"`) || err != nil || ra < 1 || ra > 1 {
			t.Fatalf("call %d during the outage: %d %q %s (Retry-After %q)", i, r.StatusCode,
				r.Header.Get("Content-Type"), body, r.Header.Get("Retry-After"))
		}
	}
	if n := e.OP.Stats().OutageAnswers; n != 1 {
		t.Fatalf("50 calls during the outage reached the token endpoint %d times, want 1", n)
	}
	e.OP.SetTokenEndpointStatus(0)
	if r := e.Do(t, nil, http.MethodGet, "/api/orders", nil); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("within the back-off after recovery: %d, want 503", r.StatusCode)
	}
	clk.Advance(refresh.BackoffBase) // the first back-off is at most BackoffBase
	if r := e.Do(t, nil, http.MethodGet, "/api/orders", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after recovery and the back-off: %d %s", r.StatusCode, testenv.ReadAll(t, r))
	}
	if st := e.OP.Stats(); st.RefreshGrants != 1 || st.OutageAnswers != 1 {
		t.Fatalf("OP saw %d refresh grants and %d refused calls, want 1 and 1", st.RefreshGrants, st.OutageAnswers)
	}
}
