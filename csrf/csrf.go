// Package csrf is Tokenward's anti-forgery rule as one pure check, in the shape of Go's
// net/http CrossOriginProtection.Check: a *Checker looks at a request's headers and answers
// nil or a *problem.Error (403, type csrf). It writes nothing and knows no router; the
// handler package adapts it to echo and decides which routes it guards (proxied API calls
// and the JSON /bff/* endpoints; not the callback, which state protects, nor /bff/auth).
//
// The flow of Check, first refusal wins:
//
//  1. Sec-Fetch-Site, when the browser sends it, must be "same-origin" or "none". A sibling
//     subdomain ("same-site") is not trusted, and "cross-site" never is.
//  2. Origin, when present, must equal the public origin exactly (scheme, host, port), for
//     every request. "null" and a second Origin header are refused.
//  3. A websocket handshake (GET, Connection: upgrade, Upgrade: websocket) cannot carry a
//     custom header, so it is exempt from the header rule; instead its Origin MUST be
//     present (and, by rule 2, equal the public origin).
//  4. Every other request MUST carry the custom header (default X-CSRF) exactly once, with
//     the value "1". A cross-site page cannot add a custom header without a CORS
//     preflight, which the BFF never grants.
//
// Upgrade: h2c is not this package's business: the caller refuses it before any route.
// Nothing compared here is a secret (the header's value is the constant "1"), so plain
// comparisons are used.
package csrf

import (
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/tokenward/bff/problem"
)

// DefaultHeaderName is the header the SPA sends when the configuration names none.
const DefaultHeaderName = "X-CSRF"

// Sentinel errors, wrapped as the Err of the *problem.Error that Check returns; match them
// with errors.Is.
var (
	// ErrCrossSite: Sec-Fetch-Site is present and neither same-origin nor none.
	ErrCrossSite = errors.New("csrf: cross-site request")
	// ErrOriginMismatch: Origin is present and is not the public origin.
	ErrOriginMismatch = errors.New("csrf: origin is not the public origin")
	// ErrOriginRequired: a websocket handshake without an Origin header.
	ErrOriginRequired = errors.New("csrf: websocket handshake without origin")
	// ErrHeaderMissing: the anti-forgery header is absent, repeated or not "1".
	ErrHeaderMissing = errors.New("csrf: anti-forgery header missing or invalid")
)

// Checker holds the rule's two parameters. It is immutable after New and safe for
// concurrent use.
type Checker struct {
	header string // canonical MIME header key
	name   string // the name as configured: what messages show (X-CSRF, not X-Csrf)
	origin string // ASCII serialization of the public origin: scheme://host[:port]
}

// New returns a Checker requiring headerName ("" means DefaultHeaderName) and accepting
// only publicOrigin as Origin. publicOrigin MUST NOT be nil (New panics: it is a
// programming error, config validation guarantees a public URL); only its scheme and host
// are used, lowercased and with a default port (80 for http, 443 for https) dropped, as
// browsers serialize an origin.
func New(headerName string, publicOrigin *url.URL) *Checker {
	if publicOrigin == nil {
		panic("csrf: New called with a nil public origin")
	}
	if headerName == "" {
		headerName = DefaultHeaderName
	}
	return &Checker{
		header: textproto.CanonicalMIMEHeaderKey(headerName),
		name:   headerName,
		origin: serializeOrigin(publicOrigin),
	}
}

// HeaderName returns the canonical name of the header the SPA must send.
func (c *Checker) HeaderName() string { return c.header }

// Name returns the header's name as configured (X-CSRF, where HeaderName says X-Csrf):
// what the BFF tells the SPA client to send.
func (c *Checker) Name() string { return c.name }

// Origin returns the public origin Origin headers are compared with.
func (c *Checker) Origin() string { return c.origin }

// Check returns nil when r passes the rule, else a *problem.Error with status 403 and
// type csrf whose Err is one of the sentinel errors above. It reads only headers and the
// method: it never touches the body.
func (c *Checker) Check(r *http.Request) error {
	if err := checkFetchSite(r.Header); err != nil {
		return err
	}
	origins := r.Header.Values("Origin")
	if err := c.checkOrigin(origins); err != nil {
		return err
	}
	if IsWebsocketHandshake(r) {
		if len(origins) == 0 {
			return refuse("a websocket handshake must carry an Origin header", ErrOriginRequired)
		}
		return nil
	}
	if v := r.Header[c.header]; len(v) != 1 || v[0] != "1" {
		return refuse("the "+c.name+" header must be sent with the value 1", ErrHeaderMissing)
	}
	return nil
}

func checkFetchSite(h http.Header) error {
	switch h.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	return refuse("cross-site requests are refused", ErrCrossSite)
}

func (c *Checker) checkOrigin(origins []string) error {
	switch {
	case len(origins) == 0:
		return nil
	case len(origins) == 1 && origins[0] == c.origin:
		return nil
	}
	return refuse("the request's origin is not allowed", ErrOriginMismatch)
}

func refuse(detail string, sentinel error) error {
	return problem.New(http.StatusForbidden, problem.CSRF, detail, sentinel)
}

// IsWebsocketHandshake reports whether r asks to switch to the websocket protocol
// (RFC 6455 section 4.1): method GET, a Connection header listing "upgrade" and an
// Upgrade header listing "websocket", both case-insensitively.
func IsWebsocketHandshake(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") &&
		httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket")
}

// serializeOrigin is the ASCII serialization of u's origin (RFC 6454 section 6.2).
func serializeOrigin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}
