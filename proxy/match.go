package proxy

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/tokenward/bff/problem"
)

// checkRequestPath reports whether u's path may be routed at all (clean): u.Path
// (decoded) must be clean (see isCleanDecoded) and the escaped form (u.EscapedPath())
// must hold no encoded backslash. encodedSlash reports an encoded slash (%2F, %2f) in
// the escaped form: such a path may only go to a route with passEncodedSlashes (see
// Proxy.Match); its decoded form, where each %2F is a "/", was checked like any other,
// so "..%2F" or "%2F%2F" never pass.
func checkRequestPath(u *url.URL, escaped string) (clean, encodedSlash bool) {
	if u.Opaque != "" || !isCleanDecoded(u.Path) {
		return false, false
	}
	backslash, slash := scanEscaped(escaped)
	return !backslash, slash
}

// isCleanDecoded reports whether p (a decoded path) starts with "/" and has no empty
// segment but a final one ("//"), no "." or ".." segment (also as "..;params", which
// Tomcat-style upstreams treat as ".."), no backslash, no control character and no
// invalid UTF-8 and no percent-encoded dot, slash, backslash, percent or control character (a double-encoded
// path, dangerous for an upstream that decodes twice).
func isCleanDecoded(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if !isCleanSegment(p[start:i], i == len(p)) {
				return false
			}
			start = i + 1
			continue
		}
		switch c := p[i]; {
		case c < 0x20, c == 0x7f, c == '\\':
			return false
		case c == '%' && isEncodedDangerous(p[i:]):
			return false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(p[i:])
			if r == utf8.RuneError && size <= 1 {
				return false // invalid or overlong UTF-8 (%c0%ae is a dot to some decoders)
			}
			i += size - 1
		}
	}
	return true
}

func isCleanSegment(seg string, last bool) bool {
	if seg == "" {
		return last // "/a/" ends in an empty segment; "//" is refused
	}
	if i := strings.IndexByte(seg, ';'); i >= 0 {
		seg = seg[:i]
	}
	return seg != "." && seg != ".."
}

// isEncodedDangerous reports whether s starts with a %XX escape of a byte that would
// change the path's meaning if decoded once more.
func isEncodedDangerous(s string) bool {
	if len(s) < 3 {
		return false
	}
	hi, ok1 := unhex(s[1])
	lo, ok2 := unhex(s[2])
	if !ok1 || !ok2 {
		return false
	}
	switch b := hi<<4 | lo; {
	case b == '.', b == '/', b == '\\', b == '%', b < 0x20, b == 0x7f:
		return true
	}
	return false
}

// scanEscaped reports whether the escaped path holds an encoded backslash (%5c) or an
// encoded slash (%2f), in any case; the decoded path cannot show them.
func scanEscaped(e string) (backslash, slash bool) {
	for i := 0; i+2 < len(e); i++ {
		if e[i] != '%' {
			continue
		}
		switch e[i+1 : i+3] {
		case "2f", "2F":
			slash = true
		case "5c", "5C":
			backslash = true
		}
	}
	return backslash, slash
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// aimsAtRoute reports whether an unclean path looks meant for a route: any of its raw,
// decoded, or decoded-twice-and-cleaned forms starts, case-insensitively, with a route
// prefix or equals one without its trailing slash. Only unclean paths get here, so the
// allocations do not touch the hot path.
func (p *Proxy) aimsAtRoute(decoded, escaped string) bool {
	candidates := [...]string{
		strings.ToLower(escaped),
		strings.ToLower(decoded),
		strings.ToLower(cleanForComparison(decoded)),
	}
	for _, rt := range p.routes {
		for _, c := range candidates {
			if strings.HasPrefix(c, rt.lowerPrefix) || c == strings.TrimSuffix(rt.lowerPrefix, "/") {
				return true
			}
		}
	}
	return false
}

// cleanForComparison decodes p once more (when it can), turns backslashes into slashes
// and cleans the result, which is what a lenient upstream might make of it.
func cleanForComparison(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	return path.Clean("/" + strings.ReplaceAll(p, `\`, "/"))
}

// badPath is the handler Match returns for a path that is not clean but aims at a route:
// it answers 400 bad_request.
type badPath struct{}

func (badPath) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	problem.Write(w, problem.New(http.StatusBadRequest, problem.BadRequest, "the request path is not allowed", nil))
}
