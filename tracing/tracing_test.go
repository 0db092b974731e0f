package tracing

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The secrets a request carries; none may appear in any span.
const (
	secretQuery  = "QUERYSECRET"
	secretAuth   = "AUTHSECRET"
	secretCookie = "COOKIESECRET"
	secretUA     = "UASECRET"
)

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$`)

// upstream records the trace headers of the requests it receives.
type upstream struct {
	*httptest.Server
	mu          sync.Mutex
	traceparent []string
	tracestate  []string
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.traceparent = append(u.traceparent, r.Header.Get("Traceparent"))
		u.tracestate = append(u.tracestate, r.Header.Get("Tracestate"))
		u.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(u.Close)
	return u
}

// bffLike is a handler shaped like the BFF: it forwards the request upstream through
// the traced transport with the query and an injected bearer, and copies the browser's
// trace headers the way a careless proxy would.
func bffLike(tr *Tracing, upstreamURL string) http.Handler {
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := http.NewRequestWithContext(r.Context(), r.Method, upstreamURL+r.URL.Path+"?"+r.URL.RawQuery, nil)
		if err != nil {
			http.Error(w, "bad", http.StatusInternalServerError)
			return
		}
		out.Header.Set("Authorization", "Bearer "+secretAuth)
		if ts := r.Header.Get("Tracestate"); ts != "" {
			out.Header.Set("Tracestate", ts)
		}
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, "upstream", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	})
}

func browserRequest(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", "Bearer "+secretAuth)
	r.Header.Set("Cookie", "__Host-bff="+secretCookie)
	r.Header.Set("User-Agent", "Mozilla/5.0 "+secretUA)
	r.Header.Set("X-Forwarded-For", "198.51.100.77")
	return r
}

func setupRecorded(t *testing.T, opts ...Option) (*Tracing, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	opts = append([]Option{WithSpanProcessor(rec), WithRouteName(func(*http.Request) string { return "api" })}, opts...)
	tr, err := Setup(context.Background(), "bff-test", envOf(nil), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, rec
}

func spanOfKind(t *testing.T, spans []sdktrace.ReadOnlySpan, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if s.SpanKind() == kind {
			return s
		}
	}
	t.Fatalf("no %v span among %d", kind, len(spans))
	return nil
}

func TestRequestMakesServerAndClientSpansAndPropagatesTraceparent(t *testing.T) {
	up := newUpstream(t)
	tr, rec := setupRecorded(t)
	w := httptest.NewRecorder()
	tr.Middleware(bffLike(tr, up.URL)).ServeHTTP(w, browserRequest("/api/orders?access_token="+secretQuery))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want a server and a client span", len(spans))
	}
	server, client := spanOfKind(t, spans, trace.SpanKindServer), spanOfKind(t, spans, trace.SpanKindClient)
	if server.Name() != "api" || client.Name() != "GET" {
		t.Fatalf("span names %q and %q, want the route name and the method", server.Name(), client.Name())
	}
	if client.Parent().SpanID() != server.SpanContext().SpanID() ||
		client.SpanContext().TraceID() != server.SpanContext().TraceID() {
		t.Fatal("the client span is not the server span's child")
	}
	m := traceparentRE.FindStringSubmatch(up.traceparent[0])
	if m == nil {
		t.Fatalf("upstream got traceparent %q, want a valid W3C traceparent", up.traceparent[0])
	}
	if tid := client.SpanContext().TraceID(); m[1] != hex.EncodeToString(tid[:]) {
		t.Fatalf("upstream trace id %s, want %s", m[1], client.SpanContext().TraceID())
	}
	if sid := client.SpanContext().SpanID(); m[2] != hex.EncodeToString(sid[:]) {
		t.Fatalf("upstream parent id %s, want the client span %s", m[2], client.SpanContext().SpanID())
	}
	for _, s := range spans {
		assertNoSecrets(t, s)
	}
	assertAttr(t, client, "url.full", up.URL+"/api/orders")
	assertAttr(t, server, "http.route", "api")
}

// assertNoSecrets fails when any attribute, event, link or status of s holds a query
// string, an Authorization value, a cookie or a header value.
func assertNoSecrets(t *testing.T, s sdktrace.ReadOnlySpan) {
	t.Helper()
	var texts []string
	for _, kv := range s.Attributes() {
		texts = append(texts, string(kv.Key)+"="+kv.Value.String())
	}
	for _, e := range s.Events() {
		texts = append(texts, e.Name)
		for _, kv := range e.Attributes {
			texts = append(texts, string(kv.Key)+"="+kv.Value.String())
		}
	}
	texts = append(texts, s.Status().Description, s.Name())
	for _, txt := range texts {
		for _, secret := range []string{secretQuery, secretAuth, secretCookie, secretUA, "access_token", "198.51.100.77"} {
			if strings.Contains(txt, secret) {
				t.Errorf("span %q carries %q in %q", s.Name(), secret, txt)
			}
		}
	}
}

func assertAttr(t *testing.T, s sdktrace.ReadOnlySpan, key, want string) {
	t.Helper()
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			if kv.Value.String() != want {
				t.Errorf("%s = %q, want %q", key, kv.Value.String(), want)
			}
			return
		}
	}
	t.Errorf("span %q has no %s", s.Name(), key)
}

// TestFailedUpstreamCallDoesNotLeakTheQuery: a transport error quotes the URL in
// err.Error(), which otelhttp records as the status description.
func TestFailedUpstreamCallDoesNotLeakTheQuery(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	tr, rec := setupRecorded(t)
	w := httptest.NewRecorder()
	tr.Middleware(bffLike(tr, deadURL)).ServeHTTP(w, browserRequest("/api/x?code="+secretQuery))
	if w.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502 from the dead upstream", w.Code)
	}
	client := spanOfKind(t, rec.Ended(), trace.SpanKindClient)
	if client.Status().Description == "" {
		t.Fatal("the failed call recorded no error description (the test would prove nothing)")
	}
	assertNoSecrets(t, client)
}

// TestBrowserTraceparentCannotPickTheTraceID: a trace context sent by a browser starts
// a new trace (linked to the claimed one) instead of being continued, so a client can
// neither choose trace ids nor force sampling.
func TestBrowserTraceparentCannotPickTheTraceID(t *testing.T) {
	const claimed = "0af7651916cd43dd8448eb211c80319c"
	tests := []struct {
		name      string
		trust     bool
		wantSame  bool
		wantLinks int
	}{
		{name: "untrusted browser", trust: false, wantSame: false, wantLinks: 1},
		{name: "trusted ingress", trust: true, wantSame: true, wantLinks: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			tr, rec := setupRecorded(t, WithTrustedParent(func(*http.Request) bool { return tc.trust }))
			r := browserRequest("/api/x")
			r.Header.Set("Traceparent", "00-"+claimed+"-b7ad6b7169203331-01")
			r.Header.Set("Tracestate", "evil=1")
			tr.Middleware(bffLike(tr, up.URL)).ServeHTTP(httptest.NewRecorder(), r)
			server := spanOfKind(t, rec.Ended(), trace.SpanKindServer)
			tid := server.SpanContext().TraceID()
			if same := hex.EncodeToString(tid[:]) == claimed; same != tc.wantSame {
				t.Fatalf("trace id %s continued=%v, want %v", tid, same, tc.wantSame)
			}
			if got := len(server.Links()); got != tc.wantLinks {
				t.Fatalf("%d links, want %d", got, tc.wantLinks)
			}
			if !strings.Contains(up.traceparent[0], hex.EncodeToString(tid[:])) {
				t.Fatalf("upstream traceparent %q is not of trace %s", up.traceparent[0], tid)
			}
			if !tc.trust && up.tracestate[0] != "" {
				t.Fatalf("upstream got the browser's tracestate %q with a new trace", up.tracestate[0])
			}
		})
	}
}

type countingHandler struct{ n int }

func (h *countingHandler) ServeHTTP(http.ResponseWriter, *http.Request) { h.n++ }

func TestDisabledIsIdentity(t *testing.T) {
	off, err := Setup(context.Background(), "bff", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tr   *Tracing
	}{
		{name: "no endpoint", tr: off},
		{name: "nil Tracing", tr: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &countingHandler{}
			if got := tc.tr.Middleware(h); got != http.Handler(h) {
				t.Fatalf("Middleware returned %T, want next itself", got)
			}
			base := &http.Transport{}
			if got := tc.tr.Transport(base); got != http.RoundTripper(base) {
				t.Fatalf("Transport returned %T, want base itself", got)
			}
			if got := tc.tr.Transport(nil); got != nil {
				t.Fatalf("Transport(nil) = %T, want nil", got)
			}
			if tc.tr.Enabled() {
				t.Fatal("Enabled")
			}
			if err := tc.tr.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, ok := tc.tr.TracerProvider().Tracer("x").Start(context.Background(), "s"); ok.IsRecording() {
				t.Fatal("a span records while off")
			}
		})
	}
}

func TestMiddlewareKeepsHijackerAndFlusher(t *testing.T) {
	tr, _ := setupRecorded(t)
	var flusher, hijacker bool
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, flusher = w.(http.Flusher)
		_, hijacker = w.(http.Hijacker)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !flusher || !hijacker {
		t.Fatalf("Flusher %v, Hijacker %v through Middleware, want both (SSE, websockets)", flusher, hijacker)
	}
}

func TestSamplerAlwaysOffRecordsNothingButStillPropagates(t *testing.T) {
	up := newUpstream(t)
	rec := tracetest.NewSpanRecorder()
	tr, err := Setup(context.Background(), "bff", envOf(map[string]string{
		envEndpoint: "http://127.0.0.1:1", envSampler: "always_off",
	}), WithSpanProcessor(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	tr.Middleware(bffLike(tr, up.URL)).ServeHTTP(httptest.NewRecorder(), browserRequest("/api/x"))
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans recorded with always_off", n)
	}
	if m := traceparentRE.FindStringSubmatch(up.traceparent[0]); m == nil || !strings.HasSuffix(up.traceparent[0], "-00") {
		t.Fatalf("upstream traceparent %q, want a valid unsampled one", up.traceparent[0])
	}
}

func TestShutdownHonoursItsContext(t *testing.T) {
	tr, err := Setup(context.Background(), "bff", envOf(map[string]string{envEndpoint: "http://127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want nil or context.Canceled", err)
	}
}

// TestTransportKeepsWebsocketUpgradeBodyWritable: httputil.ReverseProxy needs the body of
// a 101 response to be an io.ReadWriteCloser to splice a websocket.
func TestTransportKeepsWebsocketUpgradeBodyWritable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_ = brw.Flush()
	}))
	defer srv.Close()
	tr, rec := setupRecorded(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ws?ticket="+secretQuery, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := tr.Transport(&http.Transport{}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Body.(io.ReadWriteCloser); resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		t.Fatalf("status %d, body %T: want 101 with a writable body", resp.StatusCode, resp.Body)
	}
	resp.Body.Close()
	assertNoSecrets(t, spanOfKind(t, rec.Ended(), trace.SpanKindClient))
}
