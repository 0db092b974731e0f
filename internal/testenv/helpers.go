package testenv

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

// The helpers below are shared by the whole-flow tests (e2e), the handler's tests and the
// assembly's own tests, which live in three packages.

// ReadAll reads and closes resp's body.
func ReadAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FindCookie is the cookie name that resp sets, or nil.
func FindCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// NoRedirect is an http.Client CheckRedirect that returns the redirect itself.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// ShortTokens makes the OP issue 3 s access tokens, refreshed within 0.5 s of expiry.
func ShortTokens(o *Options) {
	o.AccessTokenLifetime = 3 * time.Second
	o.chain(func(c *config.Config) { c.OIDC.RefreshSkew = 500 * time.Millisecond })
}

// SharedRedis points every replica at one Redis: the real one when BFF_TEST_REDIS_URL is
// set (Start does that), else a standalone miniredis the test can also reach.
func SharedRedis(t *testing.T, o *Options) {
	if RedisURL() != "" {
		return
	}
	mr := miniredis.RunT(t)
	o.chain(func(c *config.Config) { c.Session.Store, c.Session.RedisURL = "redis", "redis://"+mr.Addr()+"/0" })
}

// TrustLoopback turns forward-auth on and trusts the test's own (loopback) client as the
// ingress.
func TrustLoopback(c *config.Config) {
	c.Server.TrustedProxies = []string{"127.0.0.1/32", "::1"}
	c.Server.ForwardAuth = true
}

// chain runs edit before o's own Configure, which so keeps the last word.
func (o *Options) chain(edit func(*config.Config)) {
	prev := o.Configure
	o.Configure = func(c *config.Config) {
		edit(c)
		if prev != nil {
			prev(c)
		}
	}
}

// Scrape is the BFF's /metrics text.
func (e *Env) Scrape(t *testing.T) string {
	t.Helper()
	return scrape(t, e.BFF)
}

func scrape(t testing.TB, srv *bff.Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// otherOutcome is a sample of an outcome or reason counted as "other".
var otherOutcome = regexp.MustCompile(`(?m)^(bff_\w+)\{(outcome|reason|op)="other"\} (\S+)$`)

// checkNoOtherOutcomes fails the test when srv counted an outcome, reason or store
// operation as "other": a producer reported a value outside the list it hands to the
// metrics (handler/outcomes.go, refresh/outcomes.go, metrics/labels.go), which no
// dashboard would show. It runs at the end of every test that starts a BFF.
func checkNoOtherOutcomes(t testing.TB, srv *bff.Server) {
	for _, m := range otherOutcome.FindAllStringSubmatch(scrape(t, srv), -1) {
		if m[3] != "0" {
			t.Errorf("%s{%s=\"other\"} = %s: a value outside its producer's list was reported", m[1], m[2], m[3])
		}
	}
}

// MetricValue finds the sample of series (name{labels} exactly as exposed) in text.
func MetricValue(t *testing.T, text, series string) string {
	t.Helper()
	re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + " (\\S+)$")
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no series %s in /metrics", series)
	}
	return m[1]
}

// WaitReadyzBody polls /readyz until its body holds want, and checks it is a 503.
func (e *Env) WaitReadyzBody(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec := httptest.NewRecorder()
		e.BFF.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if body := rec.Body.String(); strings.Contains(body, want) {
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("/readyz = %d %s, want 503", rec.Code, body)
			}
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said %q: %s", want, rec.Body.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// UserStatus is the status of GET /bff/user through c: 200 with a session, 401 without.
func (e *Env) UserStatus(t *testing.T, c *http.Client) int {
	t.Helper()
	r := e.Do(t, c, http.MethodGet, "/bff/user", nil)
	r.Body.Close()
	return r.StatusCode
}

// AuthRequest is a GET of path through c with headers (forward-auth's requests).
func (e *Env) AuthRequest(t *testing.T, c *http.Client, path string, headers map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL(path), nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// UserSID logs alice in through c and returns her subject and the OP's session id (read
// from the access token the upstream received).
func (e *Env) UserSID(t *testing.T, c *http.Client) (sub, sid string) {
	t.Helper()
	e.Login(t, c, "alice", "/")
	var u struct {
		Sub string `json:"sub"`
	}
	JSON(t, e.Do(t, c, http.MethodGet, "/bff/user", nil), &u)
	resp := e.Do(t, c, http.MethodGet, "/api/sid-probe", nil)
	resp.Body.Close()
	seen := e.Upstream.Seen()
	if resp.StatusCode != http.StatusOK || len(seen) == 0 {
		t.Fatalf("API call for the sid: %d, %d requests upstream", resp.StatusCode, len(seen))
	}
	bearer := strings.TrimPrefix(seen[len(seen)-1].Get("Authorization"), "Bearer ")
	parts := strings.Split(bearer, ".")
	if len(parts) != 3 {
		t.Fatal("the upstream's bearer is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		SID string `json:"sid"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.SID == "" {
		t.Fatalf("no sid in the access token (%v)", err)
	}
	return u.Sub, claims.SID
}

// PostLogoutToken posts a back-channel logout token as the IdP would (no cookies).
func (e *Env) PostLogoutToken(t *testing.T, token string) *http.Response {
	t.Helper()
	resp, err := e.NewClient(t).PostForm(e.URL("/bff/backchannel-logout"), url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
