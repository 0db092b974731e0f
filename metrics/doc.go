// Package metrics holds the BFF's Prometheus instruments and the /metrics handler.
//
// # Flow
//
//  1. bff.New calls New(WithRoutes(routeNames...), WithLabels(…)) once per Server. Each
//     Metrics owns its prometheus.Registry (with the Go and process collectors); nothing is
//     registered on the global default registry, so any number of servers (and tests) can
//     live in one process.
//  2. The admin listener mounts Handler() on /metrics.
//  3. The request path reports through small methods: ObserveHTTP (the outermost echo
//     middleware, once per request), ObserveUpstream (the proxy, time to the upstream's
//     response headers), Login, Refresh (refresh.Config.Observe), SessionCreated,
//     SessionEnded, BackchannelLogout, SessionRejected; InstrumentStore decorates the session.Store so
//     every store call is timed and its failures counted. SetLiveStreams installs the
//     function behind the bff_live_streams gauge.
//
// # Cardinality
//
// Every label takes its value from a fixed set known when New returns: route names (the
// /bff/* endpoints, "spa", "bad_path", and the configured route names), the nine standard
// HTTP methods, registered status codes, the outcome and reason sets their producers own
// and the assembly passes in with WithLabels (handler's login, back-channel and refused-session
// outcomes, refresh's outcomes; a test in each producer keeps its reports within its
// list), and the ended-session reasons and store operations of this package (several
// producers report the first; InstrumentStore here names the second). Anything else is
// recorded as "other" ("OTHER" for methods), so a client sending random paths, methods or
// status codes cannot grow the number of series. Raw paths, user ids, session ids and
// tokens are never label values.
//
// # Contract
//
// All methods are safe for concurrent use. A nil *Metrics is a valid no-op recorder, so
// tests and callers that do not want metrics can pass nil.
package metrics
