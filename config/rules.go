package config

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// isLoopbackHost reports whether host (as url.URL.Hostname returns it) is "localhost",
// an address in 127.0.0.0/8 or ::1. Browsers treat these origins as secure contexts.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// isToken reports whether s is a non-empty RFC 9110 token (header names, cookie names,
// methods).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isPrintableASCII reports whether every byte of s is in 0x21..0x7e (no space, no
// control character, nothing beyond ASCII).
func isPrintableASCII(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// webURLProblem checks raw is an absolute http(s) URL with a host and neither user
// info, query nor fragment, and returns what is wrong ("" when nothing). It never
// quotes raw.
func webURLProblem(raw string) (*url.URL, string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "must be an absolute http or https URL"
	case u.Host == "" || u.Hostname() == "":
		return nil, "must name a host"
	case u.User != nil:
		return nil, "must not carry user:password (user info)"
	case u.RawQuery != "" || u.ForceQuery:
		return nil, "must not have a query"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, "must not have a fragment"
	}
	return u, ""
}

// listenProblem checks a listen address is host:port with a numeric port (0..65535),
// and returns what is wrong ("" when nothing).
func listenProblem(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "must be host:port or :port, e.g. \":8080\""
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "port must be a number from 0 to 65535"
	}
	if strings.ContainsAny(host, " /\\@") {
		return "host part is not a host name or IP address"
	}
	return ""
}

// localPathProblem checks p is a same-origin path: exactly one leading "/", no "//"
// or "\", printable ASCII only, not into /bff/. It returns what is wrong or "".
func localPathProblem(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return "must be a path starting with \"/\""
	case strings.Contains(p, "//") || strings.Contains(p, `\`):
		return "must not contain \"//\" or \"\\\" (it would leave the origin)"
	case !isPrintableASCII(p):
		return "must hold printable ASCII only"
	case p == "/bff" || strings.HasPrefix(p, "/bff/"):
		return "must not point into /bff/"
	}
	return ""
}

// oneOf returns a message listing the allowed values.
func oneOf(allowed ...string) string {
	return "must be one of " + strings.Join(allowed, ", ")
}

// requiredSecret is the message for a missing secret whose file key is fileKey: it
// points at the file when one is set (not read, or unreadable: Load says why).
func requiredSecret(fileKey, file string) string {
	if file != "" {
		return "has no value: its file (" + fileKey + ") was not read"
	}
	return "is required (or set " + fileKey + ")"
}
