package handler

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxReturnTo bounds a returnTo value; longer is refused.
const maxReturnTo = 2048

var errReturnTo = errors.New("returnTo must be a same-origin path such as /app")

// CheckReturnTo validates a login returnTo or post-logout target: a same-origin relative
// reference, returned unchanged (it becomes the Location header as is). An empty value
// means "/".
//
// The whole value may hold only RFC 3986 URI characters (unreserved, reserved, and
// well-formed %XX escapes): no raw control character, space, "\" or non-ASCII byte
// anywhere. The query and fragment may carry anything else percent-encoded, URLs
// included: /search?next=https%3A%2F%2Fexample.com is a deep link, not a target. The PATH
// (before the first "?" or "#") is checked as given AND once more percent-decoded, the
// way a browser or an intermediary may decode it again: it must start with exactly one
// "/" (never "//" or "/\"), hold no "\", no empty, "." or ".." segment, no control
// character (C0, DEL, C1), only valid UTF-8, and not point into /bff/. Absolute URLs are
// never followed.
//
// Empty and "." segments are never in a path a browser shows (it normalises them), so
// refusing them costs no real deep link, and it keeps a path such as /.//evil.example,
// which a browser resolves to //evil.example, from reaching an app that reuses the path.
func CheckReturnTo(v string) (string, error) {
	if v == "" {
		return "/", nil
	}
	if len(v) > maxReturnTo || !uriChars(v) {
		return "", errReturnTo
	}
	path := v
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		path = v[:i]
	}
	if !cleanPath(path) {
		return "", errReturnTo
	}
	once, err := url.PathUnescape(path)
	if err != nil || !utf8.ValidString(once) || !cleanPath(once) {
		return "", errReturnTo
	}
	return v, nil
}

// uriChars reports whether v holds only RFC 3986 characters (§2: unreserved and reserved)
// and every "%" starts a well-formed escape.
func uriChars(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '%':
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return false
			}
			i += 2
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// cleanPath is the path rule of CheckReturnTo, applied to the path as given and decoded.
func cleanPath(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\\' {
			return false
		}
	}
	// Segments after the leading "/": none may be empty ("//", which also refuses a
	// leading "//"), "." or "..". A trailing "/" (an empty last segment) is fine.
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if s == "." || s == ".." || s == "" && i < len(segs)-1 {
			return false
		}
	}
	return !pointsIntoBFF(p)
}

// pointsIntoBFF reports whether p is /bff or under /bff/, ignoring case and dot segments
// (a browser would resolve /x/../bff/logout before requesting it).
func pointsIntoBFF(p string) bool {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	resolved := (&url.URL{}).ResolveReference(&url.URL{Path: p}).Path
	lower := strings.ToLower(resolved)
	return lower == "/bff" || strings.HasPrefix(lower, "/bff/")
}
