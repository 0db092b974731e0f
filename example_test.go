package bff_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// exampleIssuer starts the in-process OpenID provider (a stand-in for your IdP) with the
// BFF's client registered, and returns its issuer URL and a stop function.
func exampleIssuer(publicURL string) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	issuer := "http://" + l.Addr().String()
	op, err := demoop.New(demoop.Config{Issuer: issuer, Clients: []demoop.Client{{
		ID: "bff", Secret: "example-client-secret",
		RedirectURIs:           []string{publicURL + "/bff/callback"},
		PostLogoutRedirectURIs: []string{publicURL + "/"},
	}}})
	if err != nil {
		panic(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: op.Handler()}}
	srv.Start()
	return issuer, srv.Close
}

// exampleConfig is a configuration built in code instead of loaded from YAML.
func exampleConfig(publicURL, issuer string) config.Config {
	cfg := config.Defaults()
	cfg.Server.PublicURL = publicURL // the origin the browser uses
	cfg.OIDC.Issuer = issuer
	cfg.OIDC.AllowInsecureIssuer = true // only because the example's provider is plain http on loopback
	cfg.OIDC.ClientID = "bff"
	cfg.OIDC.ClientSecret = "example-client-secret"
	// 32 random bytes, base64 (`bff keygen`): never commit a real one.
	cfg.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	return cfg
}

// exampleGet sends GET path with the CSRF header, as the SPA does, and prints the answer.
func exampleGet(h http.Handler, path string) {
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
	req.Header.Set("X-CSRF", "1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
}

// The BFF mounted into an application's own net/http ServeMux: the BFF answers /bff/*,
// its configured routes and the SPA; the application serves /api/hello itself, guarded
// by the same session and CSRF rule (Protect), and learns the user from the request.
func ExampleNew() {
	const publicURL = "http://127.0.0.1:8080"
	issuer, stop := exampleIssuer(publicURL)
	defer stop()
	logger := slog.New(slog.DiscardHandler)

	s, err := bff.New(context.Background(), exampleConfig(publicURL, issuer), bff.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	mux := http.NewServeMux()
	mux.Handle("/", s.Handler()) // /bff/*, the configured routes, the SPA
	mux.Handle("/api/hello", s.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := bff.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", user.Subject)
	})))
	// In production: http.ListenAndServe(":8080", mux), or s.Run(ctx), which also
	// watches request framing and serves the admin listener.

	exampleGet(mux, "/bff/user")  // no session yet
	exampleGet(mux, "/api/hello") // the local API: the same answer
	// Output:
	// /bff/user 401 application/problem+json
	// /api/hello 401 application/problem+json
}

// The BFF inside an echo server: echo.WrapHandler mounts it and guards a local route.
func ExampleServer_Protect_echo() {
	const publicURL = "http://127.0.0.1:8080"
	issuer, stop := exampleIssuer(publicURL)
	defer stop()

	s, err := bff.New(context.Background(), exampleConfig(publicURL, issuer), bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	e := echo.New()
	e.GET("/api/hello", echo.WrapHandler(s.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := bff.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", user.Subject)
	}))))
	e.Any("/*", echo.WrapHandler(s.Handler())) // everything else: the BFF
	// The BFF's own handlers are not echo's: register them last, as the catch-all.

	exampleGet(e, "/bff/user")
	exampleGet(e, "/api/hello")
	req := httptest.NewRequest(http.MethodGet, publicURL+"/api/hello", nil) // no X-CSRF header
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println("without X-CSRF:", rec.Code)
	// Output:
	// /bff/user 401 application/problem+json
	// /api/hello 401 application/problem+json
	// without X-CSRF: 403
}

// Sessions in the application's own Redis, through its go-redis client (here a miniredis
// stands in for it). The BFF uses the client and leaves it open on Close.
func ExampleWithRedisClient() {
	const publicURL = "http://127.0.0.1:8080"
	issuer, stop := exampleIssuer(publicURL)
	defer stop()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer client.Close()

	cfg := exampleConfig(publicURL, issuer) // session.store and session.redisURL stay unset
	s, err := bff.New(context.Background(), cfg, bff.WithRedisClient(client), bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	waitReady(s)

	// A login start keeps its pending login in the store: in the application's Redis.
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, publicURL+"/bff/login", nil))
	fmt.Println("/bff/login", rec.Code)
	pending := 0
	for _, k := range mr.Keys() {
		if strings.HasPrefix(k, "bff:login:") {
			pending++
		}
	}
	fmt.Println("pending logins in the application's Redis:", pending)

	_ = s.Close()
	fmt.Println("client still open after Close:", client.Ping(context.Background()).Err() == nil)
	// Output:
	// /bff/login 302
	// pending logins in the application's Redis: 1
	// client still open after Close: true
}

// The BFF's metrics in the application's own registry, which the admin handler's
// /metrics then serves, the application's metrics included.
func ExampleWithPrometheusRegisterer() {
	const publicURL = "http://127.0.0.1:8080"
	issuer, stop := exampleIssuer(publicURL)
	defer stop()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "app_orders_total", Help: "Orders placed."}))

	s, err := bff.New(context.Background(), exampleConfig(publicURL, issuer),
		bff.WithPrometheusRegisterer(reg), bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	fmt.Println("app_orders_total:", strings.Contains(body, "app_orders_total"))
	fmt.Println("bff_sessions_created_total:", strings.Contains(body, "bff_sessions_created_total"))
	// Output:
	// app_orders_total: true
	// bff_sessions_created_total: true
}

// waitReady waits until discovery is done and the store answers (what /readyz says).
func waitReady(s *bff.Server) {
	for range 250 {
		if s.Ready(context.Background()) == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
