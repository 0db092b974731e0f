// Package proxy is Tokenward's API reverse proxy: the configured routes, each served by one
// net/http/httputil.ReverseProxy built at startup, with the session's access token injected
// as a bearer and the browser's credentials kept out.
//
// A request's path through the package:
//
//  1. Match (match.go) decides on the ESCAPED path. A path that is not clean (a "." or ".."
//     segment, also percent-encoded or followed by ";params", an encoded slash or
//     backslash, a raw backslash, "//", a control character, a double-encoded dot, slash or
//     backslash, an opaque URL) reaches no upstream: Match answers a 400 bad_request handler
//     when the path looks like it aims at a route (any prefix, case-insensitively, of the
//     raw, decoded or cleaned path), else false. A clean path goes to the route with the
//     longest prefix it starts with, case-sensitively. An encoded slash is clean only on a
//     route with passEncodedSlashes whose prefix the decoded path (each %2F read as "/")
//     also belongs to; it then reaches the upstream as sent.
//  2. The route's handler (route.go) refuses a method the route does not allow (405 with
//     Allow), any Upgrade other than a websocket handshake (400: h2c smuggling) and a
//     declared Content-Length over the route's maxRequestBody (413, before any token or
//     upstream work; a longer chunked body fails its read as it streams, the transport
//     abandons the upstream request mid-body and the ErrorHandler answers 413), then
//     asks the request's credential.Source (from Options.Credentials, one per request) for
//     the session's credential and identity: "required" answers 401 unauthenticated
//     without a session (never a redirect), "optional" forwards anonymously without one,
//     "none" never asks. Any other error ends the request on both "required" and
//     "optional": a *problem.Error is rendered as it is, anything else is 502.
//  3. The per-request state, an exchange (exchange.go), is also the request's context: it
//     carries the credential and its source to Rewrite and the transport, the buffered body of a replayable
//     request (at most 64 KiB, known length) and the cancel func that cuts a stream.
//  4. Rewrite (rewrite.go, never Director) runs after ReverseProxy removed the hop-by-hop
//     headers, so "Connection: Authorization" cannot remove what it sets: it strips the
//     route's prefix from Path and RawPath alike, points the request at the upstream (Host
//     is the upstream's), drops the browser's Cookie and Authorization and every
//     client-sent forwarding header and every header named like a route's identity
//     header, sets X-Forwarded-For/Host/Proto itself (Host and Proto from the public URL;
//     from a peer in Options.TrustedProxies its X-Forwarded-For chain, with the peer
//     appended, and its Host and Proto), has the credential set its own Authorization
//     header (and proof, for a proof-of-possession kind) on the request as it will be
//     sent, and sets the route's identity headers.
//  5. The transport (transport.go) arms the route's response-header timeout, sends the
//     request on the upstream's pooled http.Transport and, on a 401 to a replayable
//     request, asks the same Source for a forced refresh and re-sends once with the new
//     credential.
//  6. ModifyResponse (response.go) drops upstream Set-Cookie lines that name the BFF's own
//     cookies and registers websocket (101) and SSE (text/event-stream) responses as live
//     streams of the session (streams.go), which CloseSession and CloseAll cut by
//     cancelling the exchange: ReverseProxy then closes the upgraded backend connection,
//     or the SSE body read fails. The wrapped bodies make that a clean end: an SSE body
//     ends (final chunk) after an event naming the reason, between events only (sse.go);
//     a websocket gets close frames between frames, both ways (websocket.go, following
//     frame boundaries with wsframe.go). The reasons and codes are in streamend.go.
//  7. ErrorHandler (errors.go) maps failures to problem+json without the error text: a
//     header timeout is 504 upstream_timeout, the client gone is 499 without a body, a
//     body past maxRequestBody is 413 bad_request,
//     anything else is 502 upstream_unavailable; the error is logged without the URL's
//     query and without headers.
//
// SSE needs no configuration: ReverseProxy flushes every write of a text/event-stream (or
// unknown-length) response at once.
//
// Concurrency: a *Proxy and the handlers Match returns are safe for concurrent use;
// everything per request lives in the request's exchange.
package proxy
