package bff_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/session"
)

// localAPI is an application's own handler behind Protect: it answers the identity it
// was given and, at /local/upstream, calls the test upstream with the session's
// credential (a server-side call).
func localAPI(upstream string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/local/me", func(w http.ResponseWriter, r *http.Request) {
		id, ok := bff.IdentityFrom(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": id.Subject, "username": id.PreferredUsername})
	})
	mux.HandleFunc("/local/upstream", func(w http.ResponseWriter, r *http.Request) {
		src, _ := bff.CredentialsFrom(r.Context())
		sess, err := src.Get(r.Context(), false)
		if err != nil {
			http.Error(w, "credential: "+err.Error(), http.StatusBadGateway)
			return
		}
		out, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream+"/from-local", nil)
		if err := sess.Credential.Apply(out); err != nil {
			http.Error(w, "apply: "+err.Error(), http.StatusBadGateway)
			return
		}
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})
	return mux
}

// startWithLocalAPI starts the whole stack with localAPI mounted next to the BFF on its
// public origin, as an application mounts it in its own ServeMux.
func startWithLocalAPI(t *testing.T, o testenv.Options) *testenv.Env {
	t.Helper()
	var srv atomic.Pointer[bff.Server]
	var upstream atomic.Value
	mount := func(bffHandler http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", bffHandler)
		mux.HandleFunc("/local/", func(w http.ResponseWriter, r *http.Request) {
			srv.Load().Protect(localAPI(upstream.Load().(string))).ServeHTTP(w, r)
		})
		return mux
	}
	o.BFFOptions = append(o.BFFOptions, bff.WithPublicWrap(mount))
	e := testenv.Start(t, o)
	upstream.Store(e.Upstream.URL)
	srv.Store(e.BFF)
	return e
}

// problemType reads a problem+json answer's type, failing on any other content type.
func problemType(t *testing.T, resp *http.Response) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p struct{ Type string }
	testenv.JSON(t, resp, &p)
	return p.Type
}

func TestProtectGuardsALocalAPIWithTheSessionAndCSRFRule(t *testing.T) {
	reg := prometheus.NewRegistry()
	// The BFF's clock runs ahead on demand: a token of 20 s (refreshed within half its
	// lifetime) is due after 11 s.
	var ahead atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	e := startWithLocalAPI(t, testenv.Options{AccessTokenLifetime: 20 * time.Second,
		BFFOptions: []bff.Option{bff.WithPrometheusRegisterer(reg), bff.WithClock(clock)}})
	refreshes := func() float64 { return counterValue(t, reg, "bff_refreshes_total", "ok") }

	resp := e.Do(t, nil, http.MethodGet, "/local/me", nil)
	if resp.StatusCode != http.StatusUnauthorized || problemType(t, resp) != "unauthenticated" {
		t.Fatalf("without a session: %d, want 401 unauthenticated", resp.StatusCode)
	}

	e.Login(t, nil, "alice", "/")
	var who struct{ Sub, Username string }
	resp = e.Do(t, nil, http.MethodGet, "/local/me", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with a session: %d, want 200", resp.StatusCode)
	}
	testenv.JSON(t, resp, &who)
	var user struct{ Sub string }
	testenv.JSON(t, e.Do(t, nil, http.MethodGet, "/bff/user", nil), &user)
	if who.Sub == "" || who.Sub != user.Sub || who.Username != "alice" {
		t.Fatalf("identity %+v, want sub %q and username alice", who, user.Sub)
	}
	ahead.Store(int64(11 * time.Second)) // the token is now due for a refresh
	resp = e.Do(t, nil, http.MethodGet, "/local/me", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with a session due for a refresh: %d, want 200", resp.StatusCode)
	}
	if n := refreshes(); n != 0 {
		t.Fatalf("a local handler that asked for no credential caused %v refreshes", n)
	}

	for name, edit := range map[string]func(*http.Request){
		"missing CSRF header": func(r *http.Request) { r.Header.Del("X-CSRF") },
		"cross-site":          func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"foreign origin":      func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
	} {
		req, _ := http.NewRequest(http.MethodPost, e.URL("/local/me"), nil)
		req.Header.Set("X-CSRF", "1")
		edit(req)
		resp, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden || problemType(t, resp) != "csrf" {
			t.Errorf("%s: %d, want 403 csrf", name, resp.StatusCode)
		}
	}

	resp = e.Do(t, nil, http.MethodGet, "/local/upstream", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"bearer":true`) {
		t.Fatalf("server-side call with the session's credential: %d %s", resp.StatusCode, body)
	}
	// The token is still valid: the call went on with it and the refresh runs behind it.
	deadline := time.Now().Add(10 * time.Second)
	for refreshes() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := refreshes(); n != 1 {
		t.Fatalf("asking for the credential caused %v refreshes, want 1 (the token was within the skew)", n)
	}

	resp = e.Do(t, nil, http.MethodPost, "/bff/logout", nil)
	resp.Body.Close()
	resp = e.Do(t, nil, http.MethodGet, "/local/me", nil)
	if resp.StatusCode != http.StatusUnauthorized || problemType(t, resp) != "unauthenticated" {
		t.Fatalf("after logout: %d, want 401 unauthenticated", resp.StatusCode)
	}
}

func TestIdentityFromOutsideProtect(t *testing.T) {
	if _, ok := bff.IdentityFrom(context.Background()); ok {
		t.Error("IdentityFrom found an identity outside Protect")
	}
	if _, ok := bff.CredentialsFrom(context.Background()); ok {
		t.Error("CredentialsFrom found a source outside Protect")
	}
}

// counterValue is the counter of one label value of a registered counter vector, read
// back from the registry (so the test sees what a scrape sees).
func counterValue(t *testing.T, g prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{%q} is not in the registry", name, label)
	return 0
}

// noStoreConfig leaves the configuration's store unset, for the options that inject one.
func noStoreConfig(c *config.Config) { c.Session.Store, c.Session.RedisURL = "", "" }

// countingStore counts the records saved through it.
type countingStore struct {
	session.Store
	saves atomic.Int32
}

func (c *countingStore) Save(ctx context.Context, id string, rec *session.Record) error {
	c.saves.Add(1)
	return c.Store.Save(ctx, id, rec)
}

func TestWithStoreUsesTheInjectedStoreAndLeavesItOpen(t *testing.T) {
	keys, err := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := session.NewEmbedded(context.Background(), session.Options{Keys: keys, IdleTimeout: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inner.Close() })
	st := &countingStore{Store: inner}
	e := testenv.Start(t, testenv.Options{Configure: noStoreConfig, BFFOptions: []bff.Option{bff.WithStore(st)}})
	e.Login(t, nil, "alice", "/")
	if st.saves.Load() == 0 {
		t.Fatal("a login saved no record in the injected store")
	}
	resp := e.Do(t, nil, http.MethodGet, "/bff/user", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/bff/user with the injected store: %d", resp.StatusCode)
	}
	if err := e.BFF.Close(); err != nil {
		t.Fatal(err)
	}
	if err := inner.Ping(context.Background()); err != nil {
		t.Fatalf("Server.Close closed the application's store: %v", err)
	}
}

// commandCounter counts the commands a go-redis client sends.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// appRedisClient is the application's own client: real Redis (BFF_TEST_REDIS_URL) or miniredis.
func appRedisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := testenv.RedisURL()
	if url == "" {
		url = "redis://" + miniredis.RunT(t).Addr()
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestWithRedisClientUsesTheClientAndDoesNotCloseIt(t *testing.T) {
	client := appRedisClient(t)
	counter := &commandCounter{}
	client.AddHook(counter)
	e := testenv.Start(t, testenv.Options{Configure: noStoreConfig, BFFOptions: []bff.Option{bff.WithRedisClient(client)}})
	before := counter.n.Load()
	e.Login(t, nil, "alice", "/")
	if counter.n.Load() == before {
		t.Fatal("a login sent no command through the injected client")
	}
	resp := e.Do(t, nil, http.MethodGet, "/bff/user", nil) // the session is read back through it
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/bff/user on the injected client's store: %d", resp.StatusCode)
	}
	if err := e.BFF.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Server.Close closed the application's client: %v", err)
	}
}

func TestWithPrometheusRegistererPutsTheMetricsInTheApplicationsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	appCounter := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_orders_total", Help: "the app's own"})
	reg.MustRegister(appCounter)
	e := testenv.Start(t, testenv.Options{BFFOptions: []bff.Option{bff.WithPrometheusRegisterer(reg)}})
	resp := e.Do(t, nil, http.MethodGet, "/bff/user", nil)
	resp.Body.Close()
	if n := counterValue(t, reg, "bff_http_requests_total", "401"); n != 1 {
		t.Fatalf("bff_http_requests_total{code=401} in the application's registry = %v, want 1", n)
	}

	rec := httptest.NewRecorder()
	e.BFF.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, name := range []string{"app_orders_total", "bff_http_requests_total", "bff_build_info"} {
		if !strings.Contains(rec.Body.String(), name) {
			t.Errorf("the admin /metrics does not serve the application's registry: no %s", name)
		}
	}

	_, err := bff.New(context.Background(), e.Config, bff.WithPrometheusRegisterer(reg),
		bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), "WrapRegistererWith") {
		t.Fatalf("a second BFF on the same registry: %v, want an error naming WrapRegistererWith", err)
	}
	if err := e.BFF.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "bff_http_requests_total"); err != nil || n != 0 {
		t.Fatalf("after Close the registry still holds %d bff_http_requests_total series (%v)", n, err)
	}
}

func TestWithPrometheusRegistererThatCannotGather(t *testing.T) {
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"replica": "a"}, reg)
	e := testenv.Start(t, testenv.Options{BFFOptions: []bff.Option{bff.WithPrometheusRegisterer(wrapped)}})
	if n, err := testutil.GatherAndCount(reg, "bff_build_info"); err != nil || n != 1 {
		t.Fatalf("bff_build_info in the wrapped registry: %d series (%v), want 1", n, err)
	}
	rec := httptest.NewRecorder()
	e.BFF.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if body := rec.Body.String(); !strings.Contains(body, "bff_build_info") || strings.Contains(body, `replica="a"`) {
		t.Fatalf("the admin /metrics should serve the BFF's own registry when the registerer cannot gather")
	}
}

func TestInjectedStoreOptionsRefuseAmbiguity(t *testing.T) {
	keys, _ := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	st, err := session.NewEmbedded(context.Background(), session.Options{Keys: keys, IdleTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	cfg := config.Defaults()
	cfg.Server.PublicURL = "https://app.example"
	cfg.OIDC.Issuer, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = "https://idp.example", "bff", "s"
	cfg.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	redisCfg := cfg
	redisCfg.Session.Store, redisCfg.Session.RedisURL = "redis", "redis://127.0.0.1:1/0"
	for _, tc := range []struct {
		name string
		cfg  config.Config
		opts []bff.Option
		want string
	}{
		{"both options", cfg, []bff.Option{bff.WithStore(st), bff.WithRedisClient(client)}, "WithStore and WithRedisClient"},
		{"config redis and WithRedisClient", redisCfg, []bff.Option{bff.WithRedisClient(client)}, "unset session.store"},
		{"config redis and WithStore", redisCfg, []bff.Option{bff.WithStore(st)}, "unset session.store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := bff.New(context.Background(), tc.cfg, append(tc.opts, bff.WithLogger(slog.New(slog.DiscardHandler)))...)
			if err == nil {
				_ = s.Close()
				t.Fatal("New accepted two stores")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("a refused New closed the application's store: %v", err)
	}
}

func TestAnUnreachableInjectedClientIsReportedAtStart(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	var logs strings.Builder
	var mu sync.Mutex
	cfg := config.Defaults()
	cfg.Server.PublicURL = "https://app.example"
	cfg.OIDC.Issuer, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = "https://idp.example", "bff", "s"
	cfg.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	s, err := bff.New(context.Background(), cfg, bff.WithRedisClient(client),
		bff.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
	if err != nil {
		t.Fatalf("New must start without its store: %v", err)
	}
	_ = s.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "session store unreachable at start") || !strings.Contains(logs.String(), "bff.WithRedisClient") {
		t.Fatalf("no start-up error naming the option:\n%s", logs.String())
	}
}

// lockedWriter serialises writes of the BFF's goroutines into one builder.
type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
