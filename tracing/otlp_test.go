package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP (protobuf) traces endpoint, as a collector serves it.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	spans []*tracepb.ResourceSpans
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		var req collectortrace.ExportTraceServiceRequest
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		rcv.paths = append(rcv.paths, r.URL.Path)
		rcv.spans = append(rcv.spans, req.GetResourceSpans()...)
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// TestExportsRedactedSpansOverOTLPHTTP: with OTEL_EXPORTER_OTLP_ENDPOINT set, a request
// through Middleware and Transport reaches a collector as a server and a client span of
// one trace, under the service name, and nothing exported holds a secret of the request.
func TestExportsRedactedSpansOverOTLPHTTP(t *testing.T) {
	rcv := newOTLPReceiver(t)
	up := newUpstream(t)
	tr, err := Setup(context.Background(), "bff-test", envOf(map[string]string{envEndpoint: rcv.URL}),
		WithRouteName(func(*http.Request) string { return "api" }))
	if err != nil {
		t.Fatal(err)
	}
	tr.Middleware(bffLike(tr, up.URL)).ServeHTTP(httptest.NewRecorder(),
		browserRequest("/api/orders?access_token="+secretQuery))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil { // flushes the batch
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.paths) == 0 || rcv.paths[0] != "/v1/traces" {
		t.Fatalf("exports to %v, want /v1/traces", rcv.paths)
	}
	var spans []*tracepb.Span
	for _, rs := range rcv.spans {
		if got := attrValue(rs.GetResource().GetAttributes(), "service.name"); got != "bff-test" {
			t.Errorf("service.name %q, want bff-test", got)
		}
		for _, ss := range rs.GetScopeSpans() {
			spans = append(spans, ss.GetSpans()...)
		}
	}
	if len(spans) != 2 {
		t.Fatalf("%d spans exported, want 2", len(spans))
	}
	kinds := map[tracepb.Span_SpanKind]*tracepb.Span{}
	for _, s := range spans {
		kinds[s.GetKind()] = s
		assertNoSecretsExported(t, s)
	}
	server, client := kinds[tracepb.Span_SPAN_KIND_SERVER], kinds[tracepb.Span_SPAN_KIND_CLIENT]
	if server == nil || client == nil || string(server.GetTraceId()) != string(client.GetTraceId()) ||
		string(client.GetParentSpanId()) != string(server.GetSpanId()) {
		t.Fatal("want a server span and its client child in one trace")
	}
	if server.GetName() != "api" {
		t.Errorf("server span %q, want the route name", server.GetName())
	}
}

func attrValue(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

func assertNoSecretsExported(t *testing.T, s *tracepb.Span) {
	t.Helper()
	texts := []string{s.GetName(), s.GetStatus().GetMessage()}
	for _, kv := range s.GetAttributes() {
		texts = append(texts, kv.GetKey()+"="+kv.GetValue().String())
	}
	for _, e := range s.GetEvents() {
		for _, kv := range e.GetAttributes() {
			texts = append(texts, kv.GetKey()+"="+kv.GetValue().String())
		}
	}
	for _, txt := range texts {
		for _, secret := range []string{secretQuery, secretAuth, secretCookie, secretUA, "access_token"} {
			if strings.Contains(txt, secret) {
				t.Errorf("exported span %q carries %q in %q", s.GetName(), secret, txt)
			}
		}
	}
}
