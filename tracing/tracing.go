package tracing

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the BFF's tracing, on or off. Build it with Setup. Its methods are safe for
// concurrent use; a nil *Tracing behaves as tracing off.
type Tracing struct {
	tp          *sdktrace.TracerProvider // nil when off
	propagator  propagation.TextMapPropagator
	routeName   func(*http.Request) string
	trustParent func(*http.Request) bool
}

// Option adjusts Setup.
type Option func(*options)

type options struct {
	processors  []sdktrace.SpanProcessor
	routeName   func(*http.Request) string
	trustParent func(*http.Request) bool
}

// WithRouteName names each server span (and sets its http.route attribute) from the
// request: it MUST return a bounded route name ("bff_login", a configured route's name,
// "spa", ...), never the raw path. It is called once per request, on the request's
// goroutine, before the request is handled, so it MUST be cheap and MUST NOT read the
// body. Default: the request method ("GET", or "HTTP" for others).
func WithRouteName(f func(*http.Request) string) Option {
	return func(o *options) { o.routeName = f }
}

// WithTrustedParent reports which requests' incoming `traceparent` is continued (e.g.
// requests from a trusted ingress that starts traces). Every other request starts a new
// trace linked to the one it claimed. Default: none is trusted. f MUST NOT trust what a
// browser can send.
func WithTrustedParent(f func(*http.Request) bool) Option {
	return func(o *options) { o.trustParent = f }
}

// WithSpanProcessor adds a span processor behind the redactor (tests: a
// tracetest.SpanRecorder; or another exporter). It turns tracing on even when no OTLP
// endpoint is configured (then the OTLP exporter is not built).
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(o *options) { o.processors = append(o.processors, p) }
}

// Setup reads the OTEL_* variables through env (nil means os.Getenv; see the package doc)
// and returns the Tracing. With no endpoint set (or tracing disabled) and no
// WithSpanProcessor, it builds nothing and returns no error. On, it builds the exporter
// and a TracerProvider of its own, and sets no otel global. service is the default
// service.name (OTEL_SERVICE_NAME wins). Errors wrap ErrConfig and list every bad
// variable. ctx is reserved for startup I/O (the exporter does none).
func Setup(ctx context.Context, service string, env func(string) string, opts ...Option) (*Tracing, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if env == nil {
		env = os.Getenv
	}
	s, err := readSettings(env, service)
	if err != nil {
		return nil, err
	}
	t := &Tracing{
		propagator:  propagation.TraceContext{},
		routeName:   o.routeName,
		trustParent: o.trustParent,
	}
	if s.endpoint == "" && len(o.processors) == 0 {
		return t, nil
	}
	if s.sampler == nil {
		// No endpoint (or disabled), so the sampler was not parsed, but a processor
		// was given explicitly: trace with the default sampler.
		s.sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	tpOpts, err := providerOptions(ctx, s, o.processors)
	if err != nil {
		return nil, err
	}
	t.tp = sdktrace.NewTracerProvider(tpOpts...)
	return t, nil
}

func providerOptions(ctx context.Context, s settings, extra []sdktrace.SpanProcessor) ([]sdktrace.TracerProviderOption, error) {
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", s.service)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(s.sampler)}
	if s.endpoint != "" {
		exp, err := newExporter(ctx, s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithSpanProcessor(redactor{sdktrace.NewBatchSpanProcessor(exp)}))
	}
	for _, p := range extra {
		opts = append(opts, sdktrace.WithSpanProcessor(redactor{p}))
	}
	return opts, nil
}

// newExporter builds the OTLP/HTTP exporter for s.endpoint. Its own bounds: 10 s per
// export (OTEL_EXPORTER_OTLP_TIMEOUT), retries for at most a minute, responses read up to
// 4 MiB.
func newExporter(ctx context.Context, s settings) (sdktrace.SpanExporter, error) {
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(s.endpoint)}
	if s.json {
		opts = append(opts, otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	return exp, nil
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t != nil && t.tp != nil }

// TracerProvider is the provider spans are made with (a no-op one when off), for
// instrumenting anything else the same way.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if !t.Enabled() {
		return tracenoop.NewTracerProvider()
	}
	return t.tp
}

// Middleware wraps next with a server span per request (otelhttp), named by
// WithRouteName. Off, it returns next itself. The wrapper keeps http.Flusher and
// http.Hijacker of the ResponseWriter (SSE, websockets).
func (t *Tracing) Middleware(next http.Handler) http.Handler {
	if !t.Enabled() {
		return next
	}
	return otelhttp.NewHandler(t.tagRoute(next), "bff",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(t.propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return t.spanName(r) }),
		otelhttp.WithPublicEndpointFn(func(r *http.Request) bool {
			return t.trustParent == nil || !t.trustParent(r)
		}),
	)
}

// tagRoute sets http.route on the server span to the name the span got at its start,
// so that WithRouteName's function runs once per request.
func (t *Tracing) tagRoute(next http.Handler) http.Handler {
	if t.routeName == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		if s, ok := span.(sdktrace.ReadOnlySpan); ok { // recording SDK spans only
			span.SetAttributes(attribute.String("http.route", s.Name()))
		}
		next.ServeHTTP(w, r)
	})
}

func (t *Tracing) spanName(r *http.Request) string {
	if t.routeName != nil {
		return t.routeName(r)
	}
	return methodName(r.Method)
}

// Transport wraps base with a client span per request (otelhttp) and injects the W3C
// `traceparent` (and `tracestate`) of that span into the outgoing request; a
// `tracestate` already on the request (a browser's, copied by the proxy) is removed
// first, so the two never disagree. Off, it returns base itself (nil included). A nil
// base means http.DefaultTransport when on.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return dropTraceState{otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(t.propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return methodName(r.Method) }),
	)}
}

// dropTraceState removes an inbound tracestate before next injects the span's own. It
// clones the request only when there is one to remove (RoundTrippers must not modify
// their request).
type dropTraceState struct{ next http.RoundTripper }

func (d dropTraceState) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := r.Header["Tracestate"]; ok {
		r = r.Clone(r.Context())
		r.Header.Del("Tracestate")
	}
	return d.next.RoundTrip(r)
}

// Shutdown flushes the spans still queued and stops the exporter, within ctx. A no-op
// when off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// methodName is the method for a span name: the standard ones as they are, else "HTTP"
// (a bounded name whatever a client sends).
func methodName(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "HTTP"
}
