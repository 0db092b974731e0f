// Package ratelimit limits how often one client may start a login (/bff/login) or
// complete one (/bff/callback): a token bucket per client, kept in a store every replica
// shares (Config.Shared: the session store's Redis, GCRA in one script) so that N
// replicas allow one budget, not N. The in-memory buckets (golang.org/x/time/rate) serve
// when no shared store is given and while it fails: a store outage must not refuse the
// logins the budget allows (fail open, per replica, with a warning at most once a minute).
//
// # Flow
//
//  1. bff.New builds one Limiter per protected endpoint (or one shared by both) with New.
//  2. For each request the handler calls Allow(r). ClientIP names the client: the TCP
//     peer, or, only when the peer is a configured trusted proxy, the right-most address
//     in X-Forwarded-For that is not itself a trusted proxy. IPv6 clients are grouped by
//     their /64 (one subscriber usually holds a whole /64, so per-address buckets would
//     be free to multiply).
//  3. Take (or Allow) takes one token from that client's budget; false means answer 429,
//     with Retry-After from the wait Take returns.
//
// # Memory
//
// In the shared store a client's key lives only until its budget is full again. In
// memory, at most Config.MaxClients buckets are kept. A bucket unused for Config.IdleTimeout
// (default: the time it takes to refill completely, when it is indistinguishable from a
// new one) is dropped on the next Allow; when the table is full the least recently used
// bucket is dropped. A flood from more addresses than MaxClients therefore costs bounded
// memory, at the price of resetting the buckets of the quietest clients.
//
// # Trust
//
// X-Forwarded-For is written by whoever sends the request: its left-most entries are the
// client's own claims. Reading it is only sound from a trusted proxy, and then only from
// the right, skipping the trusted hops: the first untrusted address is the one a trusted
// proxy saw connect. The Forwarded header (RFC 7239) is not read.
package ratelimit
