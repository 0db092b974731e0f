package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"

	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// upstreamIssuer is the iss of the last bearer the upstream received.
func upstreamIssuer(t *testing.T, e *testenv.Env, c *http.Client) string {
	t.Helper()
	parts := strings.Split(apiBearer(t, e, c), ".")
	if len(parts) != 3 {
		t.Fatal("the upstream's bearer is not a JWT")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss string `json:"iss"`
	}
	_ = json.Unmarshal(payload, &claims)
	return claims.Iss
}

type userAnswer struct {
	Sub      string `json:"sub"`
	Provider string `json:"provider"`
}

// TestTwoProvidersLoginRefreshAndBackchannel: alice logs in at each of two real providers
// (the same sub at both: two people); each session names its provider and carries its
// tokens; a back-channel logout of b ends only b's session, and a token of a presented
// as b's, or of no configured issuer, is refused.
func TestTwoProvidersLoginRefreshAndBackchannel(t *testing.T) {
	e, b := testenv.StartTwoProviders(t, testenv.Options{})
	atA, atB := e.NewClient(t), e.NewClient(t)
	if resp := e.Login(t, atA, "alice", "/"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login at the default: %d", resp.StatusCode)
	}
	if resp := e.LoginAt(t, atB, "b", "alice"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login at b: %d", resp.StatusCode)
	}
	var ua, ub userAnswer
	testenv.JSON(t, e.Do(t, atA, http.MethodGet, "/bff/user", nil), &ua)
	testenv.JSON(t, e.Do(t, atB, http.MethodGet, "/bff/user", nil), &ub)
	if ua.Provider != "a" || ub.Provider != "b" || ua.Sub == "" || ua.Sub != ub.Sub {
		t.Fatalf("users %+v %+v: want providers a and b, the same sub", ua, ub)
	}
	if iss := upstreamIssuer(t, e, atA); iss != e.OPServer.URL {
		t.Fatalf("a's session sent a token of %s", iss)
	}
	if iss := upstreamIssuer(t, e, atB); iss != b.Server.URL {
		t.Fatalf("b's session sent a token of %s", iss)
	}

	// unknown provider
	resp, err := e.NewClient(t).Get(e.URL("/bff/login?idp=nope"))
	if err != nil {
		t.Fatal(err)
	}
	if body := testenv.ReadAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "a, b") {
		t.Fatalf("unknown idp: %d %q", resp.StatusCode, body)
	}

	// a's logout token sent as b's: refused, nothing ends
	tokA, err := e.OP.LogoutToken(testenv.ClientID, ua.Sub, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp := postLogout(t, e, "?idp=b", tokA); resp != http.StatusBadRequest {
		t.Fatalf("a's logout token at idp=b: %d, want 400", resp)
	}
	// a token of an issuer no provider has
	other, err := demoop.New(demoop.Config{Issuer: "http://127.0.0.1:1", Clients: []demoop.Client{{ID: testenv.ClientID, Secret: "x", RedirectURIs: []string{"https://x/cb"}}}})
	if err != nil {
		t.Fatal(err)
	}
	tokX, err := other.LogoutToken(testenv.ClientID, ua.Sub, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp := postLogout(t, e, "", tokX); resp != http.StatusBadRequest {
		t.Fatalf("logout token of an unknown issuer: %d, want 400", resp)
	}
	if e.UserStatus(t, atA) != http.StatusOK || e.UserStatus(t, atB) != http.StatusOK {
		t.Fatal("a refused logout token ended a session")
	}
	// b's logout token (chosen by its iss) ends b's alice only
	tokB, err := b.OP.LogoutToken(testenv.ClientID, ub.Sub, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp := postLogout(t, e, "", tokB); resp != http.StatusOK {
		t.Fatalf("b's logout token: %d", resp)
	}
	if e.UserStatus(t, atB) != http.StatusUnauthorized || e.UserStatus(t, atA) != http.StatusOK {
		t.Fatal("b's back-channel logout must end b's alice and only her")
	}
}

func postLogout(t *testing.T, e *testenv.Env, query, token string) int {
	t.Helper()
	resp, err := e.NewClient(t).PostForm(e.URL("/bff/backchannel-logout"+query), url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCallbackOfAnotherProviderIsRefused: the pending login is b's; the answer (code,
// iss) comes from a. With a's iss it is a mix-up (RFC 9207); with b's iss forged, b
// does not know a's code; without iss, b's discovery requires one. No session starts.
func TestCallbackOfAnotherProviderIsRefused(t *testing.T) {
	e, b := testenv.StartTwoProviders(t, testenv.Options{})
	for _, iss := range []string{e.OPServer.URL, b.Server.URL, ""} {
		victim := e.NewClient(t)
		resp, err := victim.Get(e.URL("/bff/login?idp=b"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		stateB := loc.Query().Get("state")
		if !strings.HasPrefix(loc.String(), b.Server.URL) || stateB == "" {
			t.Fatalf("login at b went to %s", loc)
		}
		cbA := e.AuthorizeAt(t, e.NewClient(t), "a", "alice") // a code of a, for alice
		q := url.Values{"code": {cbA.Query().Get("code")}, "state": {stateB}}
		if iss != "" {
			q.Set("iss", iss)
		}
		resp, err = victim.Get(e.URL("/bff/callback?" + q.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound || e.UserStatus(t, victim) != http.StatusUnauthorized {
			t.Fatalf("iss %q: a's answer completed b's login (%d)", iss, resp.StatusCode)
		}
	}
}

func readyz(t *testing.T, e *testenv.Env) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	e.BFF.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// TestReadyzReportsEachProvider: /readyz names every provider.
func TestReadyzReportsEachProvider(t *testing.T) {
	e, _ := testenv.StartTwoProviders(t, testenv.Options{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := readyz(t, e)
		if code == http.StatusOK && strings.Contains(body, `"idps":{"a":"ok","b":"ok"}`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSecondaryProviderDownKeepsTheReplicaReady: b cannot be reached; the replica is
// ready (the default is), /readyz says b's discovery is pending, logins at a work and
// logins at b get 503.
func TestSecondaryProviderDownKeepsTheReplicaReady(t *testing.T) {
	e, _ := testenv.StartTwoProviders(t, testenv.Options{Configure: func(c *config.Config) {
		c.OIDC.Providers[1].Issuer = "http://127.0.0.1:1" // nothing listens there
	}})
	code, body := readyz(t, e)
	if code != http.StatusOK || !strings.Contains(body, `"b":"discovery pending"`) || !strings.Contains(body, `"a":"ok"`) {
		t.Fatalf("/readyz %d %s", code, body)
	}
	if resp := e.Login(t, e.NewClient(t), "alice", "/"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login at a: %d", resp.StatusCode)
	}
	resp, err := e.NewClient(t).Get(e.URL("/bff/login?idp=b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login at b while it is down: %d", resp.StatusCode)
	}
}

// TestIdentityHeadersNameTheProvider: with several providers the upstream's user header
// is the provider-qualified subject, so the same sub at two providers (two people)
// never reaches an upstream as one account.
func TestIdentityHeadersNameTheProvider(t *testing.T) {
	e, _ := testenv.StartTwoProviders(t, testenv.Options{Configure: func(c *config.Config) {
		c.Routes[0].IdentityHeaders = config.IdentityHeaders{User: "X-User"}
	}})
	atA, atB := e.NewClient(t), e.NewClient(t)
	e.Login(t, atA, "alice", "/")
	e.LoginAt(t, atB, "b", "alice")
	var ua userAnswer
	testenv.JSON(t, e.Do(t, atA, http.MethodGet, "/bff/user", nil), &ua)
	users := map[string]string{}
	for name, c := range map[string]*http.Client{"a": atA, "b": atB} {
		resp := e.Do(t, c, http.MethodGet, "/api/who", nil)
		resp.Body.Close()
		seen := e.Upstream.Seen()
		if resp.StatusCode != http.StatusOK || len(seen) == 0 {
			t.Fatalf("API call at %s: %d", name, resp.StatusCode)
		}
		users[name] = seen[len(seen)-1].Get("X-User")
	}
	if users["a"] != "a:"+ua.Sub || users["b"] != "b:"+ua.Sub {
		t.Fatalf("upstream users %q, want a:%s and b:%s", users, ua.Sub, ua.Sub)
	}
}

// TestIdPMetricsCountEachProvider: with two providers, each one's token-endpoint
// counters move on their own (a login at each, a refresh at b only), and each has its
// readiness gauge.
func TestIdPMetricsCountEachProvider(t *testing.T) {
	e, b := testenv.StartTwoProviders(t, testenv.Options{})
	if r := e.LoginAt(t, e.NewClient(t), "a", "alice"); r.StatusCode != http.StatusFound {
		t.Fatalf("login at a: %d", r.StatusCode)
	}
	if r := e.LoginAt(t, e.Client, "b", "bob"); r.StatusCode != http.StatusFound {
		t.Fatalf("login at b: %d", r.StatusCode)
	}
	forceRefresh(t, e, b.OP) // e.Client's session: b's
	text := e.Scrape(t)
	for series, want := range map[string]string{
		`bff_idp_token_requests_total{grant="authorization_code",outcome="ok",provider="a"}`: "1",
		`bff_idp_token_requests_total{grant="authorization_code",outcome="ok",provider="b"}`: "1",
		`bff_idp_token_requests_total{grant="refresh_token",outcome="ok",provider="a"}`:      "0",
		`bff_idp_token_requests_total{grant="refresh_token",outcome="ok",provider="b"}`:      "1",
		`bff_idp_ready{provider="a"}`: "1",
		`bff_idp_ready{provider="b"}`: "1",
	} {
		if got := testenv.MetricValue(t, text, series); got != want {
			t.Errorf("%s = %s, want %s", series, got, want)
		}
	}
}
