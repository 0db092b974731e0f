package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"testing"

	"github.com/tokenward/bff/credential"
)

// discardWriter is a minimal ResponseWriter so that the benchmark measures the proxy, not
// a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeHTTP measures a proxied GET through Tokenward's route (Match, token
// injection, header hygiene, header timeout, retry wrapper) beside a plain
// httputil.ReverseProxy with Rewrite to the same httptest upstream, each on its own
// transport with the same settings. Compare the two lines of one run.
func BenchmarkServeHTTP(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer up.Close()
	upURL := mustParse(b, up.URL)

	plainTransport := newUpstreamTransport()
	defer plainTransport.CloseIdleConnections()
	plain := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upURL)
			pr.SetXForwarded()
		},
		Transport: plainTransport,
	}

	p, err := New(Options{
		Routes:    []Route{{Name: "api", Path: "/api/", Upstream: up.URL, StripPrefix: "/api", RetryOn401: true, MaxRequestBody: 10 << 20}},
		PublicURL: mustParse(b, publicURL),
		Credentials: sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return bearerSession("eyJhbGciOiJSUzI1NiJ9.benchmark.token"), nil
		}),
		OwnCookies: func(name string) bool { return name == sessionCookie },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.CloseAll()

	run := func(b *testing.B, serve func(http.ResponseWriter, *http.Request)) {
		// A server's request context is always cancellable, which costs the transport a
		// little: give both sides one, as in production.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://app.example.com/api/users/42?expand=roles", nil)
		req.Header.Set("Cookie", sessionCookie+"=sealed")
		req.Header.Set("Accept", "application/json")
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			serve(w, req)
		}
	}
	b.Run("plain-reverseproxy", func(b *testing.B) { run(b, plain.ServeHTTP) })
	b.Run("tokenward", func(b *testing.B) {
		run(b, func(w http.ResponseWriter, r *http.Request) {
			h, ok := p.Match(r)
			if !ok {
				b.Fatal("no route")
			}
			h.ServeHTTP(w, r)
		})
	})
}

// BenchmarkMatch measures route selection alone on a clean path.
func BenchmarkMatch(b *testing.B) {
	p := matchTable(b)
	r, err := parseTarget("/api/admin/users/42/roles?x=1")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.Match(r); !ok {
			b.Fatal("no route")
		}
	}
}
