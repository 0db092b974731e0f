// Package e2e holds the whole-flow tests of the BFF: a login through the in-process
// OpenID provider (spa-demo/demoop), proxied calls to a recording upstream, refresh across
// replicas sharing one store (also on a Redis Cluster and through a Sentinel failover,
// with the variables scripts/redis-topologies prints), back-channel logout, key rotation,
// client authentication, live streams, the session API across replicas and providers,
// the metrics and logs a flow leaves, the in-process benchmarks and allocation budget of
// the proxied request, and what an open session event stream costs.
// Each test starts the whole stack with internal/testenv (bff.New on TLS, miniredis or,
// with BFF_TEST_REDIS_URL, a real Redis). Tests of one package's behaviour live beside
// that package; the assembly's own (bff.New, Serve, the framing guard) stay at the root.
//
// The package has no code of its own: only this file and the tests.
package e2e
