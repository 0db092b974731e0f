package bff_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/tokenward/bff/internal/testenv"
)

// TestTracingPropagatesUpstream: with OTEL_EXPORTER_OTLP_ENDPOINT set, proxied calls carry
// a W3C traceparent upstream and spans are exported over OTLP/HTTP; without it (every
// other test) nothing is added.
func TestTracingPropagatesUpstream(t *testing.T) {
	var exported atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			exported.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("api: %d", r.StatusCode)
	}
	seen := e.Upstream.Seen()
	if tp := seen[len(seen)-1].Get("Traceparent"); len(tp) != 55 {
		t.Fatalf("upstream traceparent = %q", tp)
	}
	if err := e.BFF.Close(); err != nil { // flushes the spans
		t.Fatal(err)
	}
	if exported.Load() == 0 {
		t.Fatal("no spans reached the OTLP endpoint")
	}
}

// TestNoTracingByDefault: without the OTLP environment the BFF adds no trace headers.
func TestNoTracingByDefault(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	e.Do(t, nil, http.MethodGet, "/api/x", nil).Body.Close()
	seen := e.Upstream.Seen()
	if tp := seen[len(seen)-1].Get("Traceparent"); tp != "" {
		t.Fatalf("traceparent %q with tracing off", tp)
	}
}
