package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/problem"
)

// The resources and audiences of the route-token tests; "refused" ones are refused by
// routeOP (invalid_target, and invalid_grant for the exchange).
const (
	resA, resB, resRefused = "https://a.example/", "https://b.example/", "https://refused.example/"
	audOrders, audRefused  = "orders", "refused"
)

// routeOP wraps demoop's token endpoint with what demoop does not do: RFC 8707 resource on
// the refresh grant (the grant is passed to demoop, which rotates the refresh token
// strictly and revokes the family on reuse; its access token is then re-signed by the
// OP with aud = the resource) and RFC 8693 token exchange (a token with aud = the
// audience, for a subject token the OP signed). It counts both per target.
type routeOP struct {
	env      *testenv.Env // set after Start; requests come only after it
	mu       sync.Mutex
	per      map[string]int
	subjects []string // the subject token of each accepted exchange
}

func (o *routeOP) subjectTokens() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.subjects...)
}

func (o *routeOP) count(target string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.per[target]
}

func (o *routeOP) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		switch {
		case form.Get("grant_type") == idp.GrantTypeTokenExchange:
			o.exchange(w, r, form)
		case form.Get("grant_type") == "refresh_token" && form.Get("resource") != "":
			o.resource(w, r, form, next)
		default:
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		}
	})
}

func (o *routeOP) resource(w http.ResponseWriter, r *http.Request, form url.Values, next http.Handler) {
	res := form.Get("resource")
	if res == resRefused {
		writeOAuthError(w, "invalid_target")
		return
	}
	scope := form.Get("scope")
	form.Del("resource")
	form.Del("scope") // demoop only narrows to the login's scopes
	fwd := r.Clone(r.Context())
	enc := form.Encode()
	fwd.Body, fwd.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, fwd)
	if rec.Code != http.StatusOK {
		copyResponse(w, rec)
		return
	}
	var answer map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		http.Error(w, "bad answer", http.StatusInternalServerError)
		return
	}
	claims := jwtClaims(answer["access_token"].(string))
	claims["aud"], claims["scope"] = res, scope
	answer["access_token"] = o.sign(claims)
	o.counted(res)
	writeTokenJSON(w, answer)
}

func (o *routeOP) exchange(w http.ResponseWriter, r *http.Request, form url.Values) {
	if user, pass, ok := r.BasicAuth(); !ok || user != testenv.ClientID || pass != testenv.ClientSecret {
		writeOAuthError(w, "invalid_client")
		return
	}
	subject := jwtClaims(form.Get("subject_token"))
	if form.Get("subject_token_type") != idp.TokenTypeAccessToken || subject["sub"] == nil || form.Get("audience") == audRefused {
		writeOAuthError(w, "invalid_grant")
		return
	}
	o.counted(form.Get("audience"))
	o.mu.Lock()
	o.subjects = append(o.subjects, form.Get("subject_token"))
	o.mu.Unlock()
	writeTokenJSON(w, map[string]any{
		"access_token": o.sign(map[string]any{"sub": subject["sub"], "aud": form.Get("audience"),
			"exp": time.Now().Add(time.Minute).Unix()}),
		"token_type": "Bearer", "expires_in": 60, "issued_token_type": idp.TokenTypeAccessToken,
	})
}

func (o *routeOP) counted(target string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.per[target]++
}

func (o *routeOP) sign(claims map[string]any) string {
	tok, err := o.env.OP.SignJWT(claims)
	if err != nil {
		panic(err)
	}
	return tok
}

func writeOAuthError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}

func writeTokenJSON(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// jwtClaims is a JWT's payload, unverified (the test's own OP signed it); nil when none.
func jwtClaims(raw string) map[string]any {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return map[string]any{}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	out := map[string]any{}
	if err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// audUpstream answers 200 only when the bearer's aud is the one its path's route must
// send, 403 otherwise; it records every request's path and aud ("" without a bearer).
type audUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "path aud"
}

var wantAud = map[string]string{"/a/": resA, "/b/": resB, "/x/": audOrders}

func newAudUpstream(t *testing.T) *audUpstream {
	u := &audUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		aud := ""
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			aud, _ = jwtClaims(b)["aud"].(string)
			if aud == "" {
				aud = "(main)" // demoop's own tokens carry an aud list
			}
		}
		prefix := "/" + strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0] + "/"
		u.mu.Lock()
		u.seen = append(u.seen, prefix+" "+aud)
		u.mu.Unlock()
		if want, ok := wantAud[prefix]; !ok || want != aud {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *audUpstream) requests(prefix string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, s := range u.seen {
		if strings.HasPrefix(s, prefix+" ") {
			out = append(out, s)
		}
	}
	return out
}

// startRouteTokenEnv starts a stack with the per-route token routes on u.
func startRouteTokenEnv(t *testing.T, o testenv.Options, u *audUpstream) (*testenv.Env, *routeOP) {
	t.Helper()
	rop := &routeOP{per: map[string]int{}}
	o.WrapOP = rop.wrap
	prev := o.Configure
	o.Configure = func(c *config.Config) {
		if prev != nil {
			prev(c)
		}
		c.Routes = append(c.Routes, routeTokenRoutes(u.URL)...)
	}
	e := testenv.Start(t, o)
	rop.env = e
	return e, rop
}

// routeTokenRoutes are the per-route token routes, all on upstream: two resources, an
// exchange, and one of each that routeOP refuses.
func routeTokenRoutes(upstream string) []config.Route {
	return []config.Route{
		{Path: "/a/", Upstream: upstream, Resource: resA},
		{Path: "/b/", Upstream: upstream, Resource: resB, Scopes: []string{"b:read"}},
		{Path: "/x/", Upstream: upstream, TokenExchange: config.TokenExchange{Audience: audOrders, Scope: "orders:read"}},
		{Path: "/refused/", Upstream: upstream, Resource: resRefused},
		{Path: "/xrefused/", Upstream: upstream, TokenExchange: config.TokenExchange{Audience: audRefused}},
	}
}

// TestEachRouteGetsItsOwnToken: routes naming a resource get a token for it, obtained
// once and cached; the exchange route gets an exchanged token, cached; the route without
// either keeps the login's token; a refused resource or exchange is 502 token_refused
// and the upstream never sees the request (no main token sent instead); logout ends all.
func TestEachRouteGetsItsOwnToken(t *testing.T) {
	u := newAudUpstream(t)
	e, rop := startRouteTokenEnv(t, testenv.Options{}, u)
	e.Login(t, nil, "alice", "/")
	for range 2 { // the second round is served from the session's cached tokens
		for _, p := range []string{"/a/orders", "/b/items", "/x/orders"} {
			if r := e.Do(t, nil, http.MethodGet, p, nil); r.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d (upstream saw %v)", p, r.StatusCode, u.seen)
			}
		}
	}
	if r := e.Do(t, nil, http.MethodGet, "/api/me", nil); r.StatusCode != http.StatusOK || bearerOf(e.Upstream.Seen()[0]) == "" {
		t.Fatalf("/api/: %d", r.StatusCode)
	}
	if aud := jwtClaims(bearerOf(e.Upstream.Seen()[0]))["aud"]; aud == resA || aud == resB || aud == audOrders {
		t.Fatalf("the default route got a route's token (aud %v)", aud)
	}
	if rop.count(resA) != 1 || rop.count(resB) != 1 || rop.count(audOrders) != 1 {
		t.Fatalf("grants a %d, b %d, exchanges %d; want 1 each (cached)", rop.count(resA), rop.count(resB), rop.count(audOrders))
	}
	if st := e.OP.Stats(); st.RefreshReuseDetected != 0 {
		t.Fatalf("%d refresh token reuses", st.RefreshReuseDetected)
	}
	for _, p := range []string{"/refused/x", "/xrefused/x"} {
		r := e.Do(t, nil, http.MethodGet, p, nil)
		var pb struct{ Type string }
		testenv.JSON(t, r, &pb)
		if r.StatusCode != http.StatusBadGateway || pb.Type != string(problem.TokenRefused) || !strings.HasPrefix(r.Header.Get("Content-Type"), problem.ContentType) {
			t.Fatalf("%s: %d %q, want 502 %s", p, r.StatusCode, pb.Type, problem.TokenRefused)
		}
	}
	if got := append(u.requests("/refused/"), u.requests("/xrefused/")...); len(got) != 0 {
		t.Fatalf("the upstream was called for refused routes: %v", got)
	}
	if r := e.Do(t, nil, http.MethodGet, "/a/orders", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the session did not survive the refusals: %d", r.StatusCode)
	}
	logout := e.Do(t, nil, http.MethodPost, "/bff/logout", nil)
	_ = logout.Body.Close()
	for _, p := range []string{"/a/orders", "/x/orders"} {
		if r := e.Do(t, nil, http.MethodGet, p, nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s after logout: %d", p, r.StatusCode)
		}
	}
}

// TestRouteTokenStormAcrossReplicasIsOneGrantPerResource: 200 requests over two replicas,
// spread over two routes of different resources whose tokens have expired, against an OP
// that revokes the token family on reuse: exactly one grant per resource, no reuse, every
// request 200 with its resource's token.
func TestRouteTokenStormAcrossReplicasIsOneGrantPerResource(t *testing.T) {
	const lifetime = 5 * time.Second
	logs := new(logbuf.Buffer)
	o := testenv.Options{AccessTokenLifetime: lifetime, Log: logs}
	o.Configure = func(c *config.Config) { c.OIDC.RefreshSkew = 1500 * time.Millisecond }
	testenv.SharedRedis(t, &o)
	t.Cleanup(func() { logFailures(t, logs) })
	u := newAudUpstream(t)
	e, rop := startRouteTokenEnv(t, o, u)
	replica := e.AddReplica(t)
	e.Login(t, nil, "alice", "/")
	for _, p := range []string{"/a/warm", "/b/warm"} {
		if r := e.Do(t, nil, http.MethodGet, p, nil); r.StatusCode != http.StatusOK {
			t.Fatalf("warm-up %s: %d", p, r.StatusCode)
		}
	}
	expired := time.Now().Add(lifetime + 100*time.Millisecond)
	client := burstClient(e)
	fire(t, client, e, replica, "/", nil) // open the connections
	time.Sleep(time.Until(expired))       // both route tokens have expired: every request waits
	before := e.OP.Stats().RefreshGrants

	codes := make(chan int, 200)
	fireEach(t, client, e, replica, func(i int) string { return []string{"/a/burst", "/b/burst"}[(i/2)%2] }, codes)
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a request got %d", c)
		}
	}
	st := e.OP.Stats()
	if rop.count(resA) != 2 || rop.count(resB) != 2 || st.RefreshGrants-before != 2 || st.RefreshReuseDetected != 0 {
		t.Fatalf("grants a %d, b %d (want 2 each: warm-up and burst), OP grants in the burst %d, reuses %d",
			rop.count(resA), rop.count(resB), st.RefreshGrants-before, st.RefreshReuseDetected)
	}
	if n := len(u.requests("/a/")) + len(u.requests("/b/")); n != 202 {
		t.Fatalf("upstream saw %d requests on /a/ and /b/, want 202", n)
	}
}
