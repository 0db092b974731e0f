package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/refresh"
	"github.com/tokenward/bff/spa-demo/demoop"
)

func bearerOf(h http.Header) string { return strings.TrimPrefix(h.Get("Authorization"), "Bearer ") }

// TestConcurrentRefreshAcrossReplicasIsExactlyOnce: 200 requests on one session whose token
// has expired, split across two replicas sharing one store, against an OP with refresh-token
// rotation that revokes the whole family on reuse: ONE refresh grant reaches the OP, every
// request succeeds, and the upstream sees only the new token.
func TestConcurrentRefreshAcrossReplicasIsExactlyOnce(t *testing.T) {
	// The refreshed token must stay fresh for the whole burst, or a late request would
	// rightly refresh it again: 5 s tokens (expires_in 4 after rounding down) with a 1.5 s
	// skew leave the burst 2.5 s after the refresh, several times what it takes under -race.
	const lifetime, skew = 5 * time.Second, 1500 * time.Millisecond
	logs := new(logbuf.Buffer)
	o := testenv.Options{AccessTokenLifetime: lifetime, Log: logs}
	o.Configure = func(c *config.Config) { c.OIDC.RefreshSkew = skew }
	testenv.SharedRedis(t, &o)
	t.Cleanup(func() { logFailures(t, logs) })
	e := testenv.Start(t, o)
	replica := e.AddReplica(t)
	e.Login(t, nil, "alice", "/")
	// The login's token expires at most lifetime from now. It must have expired, not merely
	// be due: a still-valid token goes upstream at once while the refresh runs behind it.
	expired := time.Now().Add(lifetime + 100*time.Millisecond)
	if r := e.Do(t, nil, http.MethodGet, "/api/warm", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("warm-up: %d", r.StatusCode)
	}
	old := bearerOf(e.Upstream.Seen()[0])
	// 200 keep-alive connections opened beforehand: the burst measures the refresh, not
	// 200 TLS handshakes at once (which, under -race on two cores, starve everything).
	client := burstClient(e)
	fire(t, client, e, replica, "/", nil)
	time.Sleep(time.Until(expired)) // the access token has now expired: every request waits for the refresh
	before := len(e.Upstream.Seen())

	codes := make(chan int, 200)
	fire(t, client, e, replica, "/api/burst", codes)
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a request got %d", c)
		}
	}
	st := e.OP.Stats()
	if st.RefreshGrants != 1 || st.RefreshReuseDetected != 0 {
		t.Fatalf("OP saw %d refresh grants and %d reuses, want exactly 1 and 0", st.RefreshGrants, st.RefreshReuseDetected)
	}
	seen := e.Upstream.Seen()[before:]
	if len(seen) != 200 {
		t.Fatalf("upstream saw %d requests, want 200", len(seen))
	}
	fresh := bearerOf(seen[0])
	for _, h := range seen {
		if b := bearerOf(h); b == old || b != fresh {
			t.Fatal("the upstream saw the old token, or more than one new token")
		}
	}
}

// logFailures prints a failed test's error and warning log lines (why a request failed).
func logFailures(t *testing.T, logs *logbuf.Buffer) {
	if !t.Failed() {
		return
	}
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// burstClient reuses up to 200 connections per replica.
func burstClient(e *testenv.Env) *http.Client {
	tr := e.Client.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost, tr.MaxIdleConns = 200, 400
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// fire sends 200 concurrent GETs of path with the session's cookie, alternating between
// the two replicas, and waits for all; codes (optional) receives each status.
func fire(t *testing.T, c *http.Client, e *testenv.Env, replica *testenv.Replica, path string, codes chan<- int) {
	t.Helper()
	fireEach(t, c, e, replica, func(int) string { return path }, codes)
}

// fireEach is fire with the i-th request's path pathOf(i).
func fireEach(t *testing.T, c *http.Client, e *testenv.Env, replica *testenv.Replica, pathOf func(i int) string, codes chan<- int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		target := e.Server.URL
		if i%2 == 1 {
			target = replica.URL
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, target+pathOf(i), nil)
			req.Header.Set("X-CSRF", "1")
			for _, ck := range e.Client.Jar.Cookies(mustURL(e.Server.URL)) {
				req.AddCookie(ck)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if codes == nil {
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d: %s", resp.StatusCode, b)
			}
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
}

// TestInvalidGrantEndsTheSession: a refresh token the IdP no longer honours ends the
// session with 401 session_expired, and the record is gone.
func TestInvalidGrantEndsTheSession(t *testing.T) {
	var o testenv.Options
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)
	e.Login(t, nil, "alice", "/")
	var u struct{ Sub string }
	testenv.JSON(t, e.Do(t, nil, http.MethodGet, "/bff/user", nil), &u)
	e.OP.RevokeUserTokens(u.Sub)
	time.Sleep(2100 * time.Millisecond)
	r := e.Do(t, nil, http.MethodGet, "/api/x", nil)
	body := testenv.ReadAll(t, r)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"session_expired"`) {
		t.Fatalf("got %d %s, want 401 session_expired", r.StatusCode, body)
	}
	if r := e.Do(t, nil, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the session survived invalid_grant: %d", r.StatusCode)
	}
}

// TestIdPOutageKeepsTheSession: the token endpoint answering 503 keeps the session (503
// idp_unavailable with Retry-After while the old token is expired), and the first request
// after recovery and the session's refresh back-off succeeds.
func TestIdPOutageKeepsTheSession(t *testing.T) {
	var o testenv.Options
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)
	e.Login(t, nil, "alice", "/")
	time.Sleep(2100 * time.Millisecond)
	e.OP.SetTokenEndpointStatus(http.StatusServiceUnavailable)
	r := e.Do(t, nil, http.MethodGet, "/api/x", nil)
	body := testenv.ReadAll(t, r)
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"idp_unavailable"`) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("during the outage: %d %s (Retry-After %q)", r.StatusCode, body, r.Header.Get("Retry-After"))
	}
	e.OP.SetTokenEndpointStatus(0)
	time.Sleep(refresh.BackoffBase) // the longest first back-off: the next request may call the IdP
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after recovery: %d %s", r.StatusCode, testenv.ReadAll(t, r))
	}
	if e.OP.Stats().RefreshGrants != 1 {
		t.Fatalf("refresh grants: %d, want 1", e.OP.Stats().RefreshGrants)
	}
}

// TestIdPOutageUsesTheStillValidToken: inside the skew but not yet expired, an IdP outage
// is invisible: the old token is used.
func TestIdPOutageUsesTheStillValidToken(t *testing.T) {
	// 5 s tokens (expires_in 4): the 30 s skew is capped at half their life, so the token
	// is due 2 s after the login and still valid for about 2 s more.
	e := testenv.Start(t, testenv.Options{AccessTokenLifetime: 5 * time.Second})
	e.Login(t, nil, "alice", "/")
	time.Sleep(2100 * time.Millisecond)
	e.OP.SetTokenEndpointStatus(http.StatusBadGateway)
	defer e.OP.SetTokenEndpointStatus(0)
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s", r.StatusCode, testenv.ReadAll(t, r))
	}
	// The refresh runs behind the request (the token is still valid): wait for its attempt.
	deadline := time.Now().Add(10 * time.Second)
	for e.OP.Stats().OutageAnswers == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.OP.Stats().OutageAnswers; n != 1 {
		t.Fatalf("the OP refused %d token requests, want 1: the token was not due for refresh", n)
	}
}

// TestUpstream401ForcesOneRefreshAndRetry: an upstream rejecting a still-valid token gets
// one retry with a freshly refreshed token.
func TestUpstream401ForcesOneRefreshAndRetry(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	forceRefresh(t, e, e.OP)
	if n := len(e.Upstream.Seen()); n != 2 {
		t.Fatalf("upstream saw %d requests; want 2", n)
	}
}

// forceRefresh has the upstream refuse the current token of e.Client's session: the BFF
// refreshes (once, checked at op, the session's provider) and retries with the new token,
// which the upstream takes.
func forceRefresh(t *testing.T, e *testenv.Env, op *demoop.OP) {
	t.Helper()
	var mu sync.Mutex
	first := ""
	e.Upstream.Status = func(r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if first == "" {
			first = bearerOf(r.Header)
		}
		if bearerOf(r.Header) == first {
			return http.StatusUnauthorized
		}
		return 0
	}
	before := op.Stats().RefreshGrants
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("API call: %d %s", r.StatusCode, testenv.ReadAll(t, r))
	}
	if n := op.Stats().RefreshGrants - before; n != 1 {
		t.Fatalf("%d refresh grants, want 1", n)
	}
}

// TestNoSessionOnAPIRoute: API callers without a session get 401 problem+json, never a
// redirect to the IdP.
func TestNoSessionOnAPIRoute(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	r := e.Do(t, nil, http.MethodGet, "/api/x", nil)
	body := testenv.ReadAll(t, r)
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Location") != "" ||
		r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"unauthenticated"`) {
		t.Fatalf("got %d %q %s", r.StatusCode, r.Header.Get("Location"), body)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
