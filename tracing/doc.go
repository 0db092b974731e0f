// Package tracing is the BFF's OpenTelemetry tracing: a server span per request, a
// client span per upstream call, and W3C Trace Context (`traceparent`) sent upstream, so
// that an API's traces join the BFF's.
//
// # Off by default, at zero cost
//
// Tracing is on only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT is set (and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none says otherwise). Off, Setup builds nothing: Middleware returns
// its handler and Transport its round tripper unchanged, so the request path is exactly
// what it is without this package.
//
// # Flow
//
//  1. bff.New calls Setup(ctx, "bff", os.Getenv, WithRouteName(...)). On, it builds an
//     OTLP/HTTP exporter (protobuf, or JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json;
//     gRPC is not linked), a batching span processor behind the redactor (below), a
//     sampler from OTEL_TRACES_SAMPLER[_ARG] (default parentbased_always_on) and a
//     TracerProvider of its own: the otel globals are left alone.
//  2. The public handler is wrapped with Middleware: otelhttp's server handler, the span
//     named after the route (WithRouteName), never after the raw path.
//  3. Each upstream transport (proxy routes; the IdP client if wanted) is wrapped with
//     Transport: otelhttp's client transport, which injects `traceparent`.
//  4. Shutdown flushes the batch at exit.
//
// # What a span may carry
//
// Spans leave the process, so they MUST NOT carry a token, a cookie, a header value, or a
// query string (authorization codes, states and API parameters live there). otelhttp
// records no header values, but its client spans hold url.full with the query, and a
// failed exchange records err.Error(), which quotes the URL. Every span therefore passes
// through a redactor before any processor or exporter sees it: URL attributes lose their
// query, fragment and userinfo, user_agent.original, client.address (taken from the
// spoofable X-Forwarded-For), url.query and every *.header.* attribute are dropped, and a
// query is cut out of every other string (status description, exception message).
//
// # Incoming trace context
//
// The BFF faces browsers: a `traceparent` they send is not believed by default (the span
// starts a new trace and links to the claimed one), so a client can neither pick trace
// ids nor force sampling. WithTrustedParent names the requests (e.g. from a trusted
// ingress) whose trace context is continued. Only W3C Trace Context is propagated;
// baggage is not.
package tracing
