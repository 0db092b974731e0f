package proxy

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/tokenward/bff/credential"
)

// newReverseProxy builds the route's one ReverseProxy.
func (p *Proxy) newReverseProxy(r *route, rt http.RoundTripper, pool *bufferPool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        r.rewrite,
		Transport:      rt,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.handleError,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		BufferPool:     pool,
		// FlushInterval stays 0: ReverseProxy flushes text/event-stream and unknown-length
		// responses after every write by itself, and buffers the rest.
	}
}

// rewrite turns the inbound request into the upstream request. ReverseProxy has already
// removed the hop-by-hop headers (including any the client listed in Connection) and
// Forwarded/X-Forwarded-For/-Host/-Proto, so nothing set here can be stripped by the
// client. A client's Forwarded (RFC 7239) never reaches the upstream, not even from a
// trusted proxy: the BFF speaks X-Forwarded-* only, and an upstream that read both could
// be told two stories.
func (r *route) rewrite(pr *httputil.ProxyRequest) {
	out := pr.Out
	dropClientCredentials(out.Header)
	r.p.dropIdentity(out.Header)
	r.stripPrefix(out.URL)
	out.URL.Opaque = "" // Match refuses opaque URLs; never let one pick the request line
	pr.SetURL(r.upstream)
	x := exchangeFrom(pr.In.Context())
	if x != nil && x.cred != nil {
		r.setIdentity(out.Header, x.identity)
	}
	// The BFF's own headers come after the identity headers, so that no identity header
	// name (config refuses the reserved ones; a Route built in code is not checked) can
	// replace them: the forwarding headers, then the credential, which has the last word.
	r.p.setForwarded(pr)
	if x != nil && x.cred != nil {
		// Applied to the outbound request as it will be sent (URL final), so that a
		// proof-of-possession credential binds its proof to it. An error fails the attempt
		// in the transport (Rewrite cannot fail).
		x.applyErr = x.cred.Apply(out)
	}
}

// dropIdentity deletes the client's headers that are named like any route's identity
// headers (ignoring case, "_" read as "-"), on every route: an upstream shared by two
// routes must never take a client's X-Auth-Request-User for the BFF's.
func (p *Proxy) dropIdentity(h http.Header) {
	if len(p.identityNames) == 0 {
		return
	}
	for k := range h {
		for _, name := range p.identityNames {
			if headerNameEqual(k, name) {
				delete(h, k)
				break
			}
		}
	}
}

// setIdentity sets the route's identity headers from c, the session's identity. A
// value that could not be a header value (a control character in a claim) is left out
// rather than failing the request.
func (r *route) setIdentity(h http.Header, c credential.Identity) {
	for _, f := range [...]struct{ name, value string }{
		{r.identity.User, c.Subject},
		{r.identity.Email, c.Email},
		{r.identity.PreferredUsername, c.PreferredUsername},
	} {
		if f.name != "" && f.value != "" && isHeaderValue(f.value) {
			h.Set(f.name, f.value)
		}
	}
}

// isHeaderValue reports whether v holds no control character but horizontal tab
// (RFC 9110 field-value; bytes beyond ASCII pass as obs-text).
func isHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// setForwarded sets X-Forwarded-For/-Host/-Proto on the upstream request. From a peer in
// server.trustedProxies the client chain it sent in X-Forwarded-For is kept and the peer
// appended (so the upstream sees the real client IP and every hop), and its
// X-Forwarded-Host/-Proto are passed on; from any other peer, whatever the client wrote
// is gone (dropClientCredentials) and the upstream sees the peer and the public URL only.
// A header the trusted proxy listed in Connection is hop-by-hop and not passed on.
func (p *Proxy) setForwarded(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	host, proto := []string{p.fwdHost}, []string{p.fwdProto}
	if p.trusted.IsTrustedPeer(in) {
		if v := forwardedValues(in.Header, "X-Forwarded-For"); v != nil {
			out.Header["X-Forwarded-For"] = v // SetXForwarded appends the peer
		}
		if v := forwardedValues(in.Header, "X-Forwarded-Host"); v != nil {
			host = v
		}
		if v := forwardedValues(in.Header, "X-Forwarded-Proto"); v != nil {
			proto = v
		}
	}
	pr.SetXForwarded()
	out.Header["X-Forwarded-Host"] = host
	out.Header["X-Forwarded-Proto"] = proto
}

// forwardedValues is a copy of h's values of the canonical name, nil when there are none
// or the sender made the header hop-by-hop by listing it in Connection.
func forwardedValues(h http.Header, name string) []string {
	vs := h[name]
	if len(vs) == 0 {
		return nil
	}
	for _, line := range h["Connection"] {
		for _, tok := range strings.Split(line, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), name) {
				return nil
			}
		}
	}
	return append([]string(nil), vs...)
}

// stripPrefix removes the route's stripPrefix from Path and RawPath alike (the prefix has
// no escapable characters, see isRoutePath), keeping a leading slash.
func (r *route) stripPrefix(u *url.URL) {
	if r.strip == "" {
		return
	}
	u.Path = ensureSlash(strings.TrimPrefix(u.Path, r.strip))
	if u.RawPath != "" {
		u.RawPath = ensureSlash(strings.TrimPrefix(u.RawPath, r.strip))
	}
}

func ensureSlash(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}

// dropClientCredentials deletes the browser's Cookie, Authorization and DPoP (a client's
// proof is never for the upstream behind the BFF, on any route) and every header a
// client could use to pose as a proxy in front of the upstream: all X-Forwarded-* (not
// only the three ReverseProxy removes), X-Real-IP and kin, and the URL-override headers
// some frameworks honour. Names are compared ignoring case and treating "_" as "-",
// because CGI-style upstreams fold X_Forwarded_For into X-Forwarded-For.
func dropClientCredentials(h http.Header) {
	for k := range h {
		if isClientForwardingHeader(k) {
			delete(h, k)
		}
	}
}

var forwardingHeaders = [...]string{
	"x-real-ip", "x-client-ip", "true-client-ip", "x-cluster-client-ip",
	"x-original-url", "x-original-uri", "x-rewrite-url", "x-original-host", "x-host",
	"forwarded", "authorization", "cookie", "dpop",
}

func isClientForwardingHeader(k string) bool {
	if len(k) >= len("x-forwarded-") && headerNameEqual(k[:len("x-forwarded-")], "x-forwarded-") {
		return true
	}
	for _, name := range forwardingHeaders {
		if headerNameEqual(k, name) {
			return true
		}
	}
	return false
}

// headerNameEqual compares a header name with a lowercase, hyphenated name, ignoring
// ASCII case and treating "_" as "-". It does not allocate.
func headerNameEqual(k, lower string) bool {
	if len(k) != len(lower) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
