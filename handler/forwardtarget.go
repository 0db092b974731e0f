package handler

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenward/bff/problem"
)

// forwardedURL checks the forwarded request's parts before a DPoP proof binds them (htm,
// htu): a proof for a method or URL the API never sees is refused by it, and a host that
// smuggles a path, query, userinfo or a second host would bind the proof to a URL the
// ingress did not name. A proxy chain may append to a header ("a, b"): the first element
// is the client-facing one. The URI is taken whole (a comma is valid in a path).
func forwardedURL(method, proto, host, uri string) (string, *url.URL, error) {
	method, proto, host = firstElement(method), firstElement(proto), firstElement(host)
	switch {
	case !isMethodToken(method):
		return "", nil, badForwarded("X-Forwarded-Method", "an HTTP method (an RFC 9110 token)")
	case proto != "https" && proto != "http":
		return "", nil, badForwarded("X-Forwarded-Proto", "http or https")
	case !validHostPort(host):
		return "", nil, badForwarded("X-Forwarded-Host", "a host[:port], without userinfo, path, query or fragment")
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(uri, "/") {
		return "", nil, badForwarded("X-Forwarded-Uri", "an origin-form request target (/path?query)")
	}
	u.Scheme, u.Host = proto, host
	return method, u, nil
}

func badForwarded(header, want string) error {
	return problem.New(http.StatusBadRequest, problem.BadRequest,
		"forward-auth with DPoP: "+header+" must be "+want, nil)
}

// firstElement is the first of a comma-separated header value, trimmed.
func firstElement(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// isMethodToken: a method is a case-sensitive RFC 9110 token; it is never upper-cased,
// as "get" and "GET" are different methods.
func isMethodToken(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHostPort: a DNS name or IPv4 address of letters, digits, '-', '.' and '_', or a
// bracketed IPv6 address, then optionally ':' and a port in 1-65535.
func validHostPort(hp string) bool {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 || !validIPv6(hp[1:end]) {
			return false
		}
		host, port = "", hp[end+1:]
		if port != "" && port[0] != ':' {
			return false
		}
	} else if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i:]
		if host == "" || !validRegName(host) {
			return false
		}
	} else if !validRegName(host) {
		return false
	}
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port[1:])
	return err == nil && port[1] != '+' && port[1] != '-' && n >= 1 && n <= 65535
}

func validRegName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// validIPv6: an IPv6 address without a zone (a zone names the proxy's own interface).
func validIPv6(s string) bool {
	addr, err := netip.ParseAddr(s)
	return err == nil && addr.Is6() && addr.Zone() == ""
}
