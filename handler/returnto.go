package handler

import (
	"errors"
	"net/url"
	"strings"
)

// maxReturnTo bounds a returnTo value; longer is refused.
const maxReturnTo = 2048

var errReturnTo = errors.New("returnTo must be a same-origin path such as /app")

// CheckReturnTo validates a login returnTo or post-logout target (DESIGN.md): the value as
// the query parser gave it, AND that value percent-decoded once more, must both start with
// exactly one "/", contain no "//" and no "\", hold only printable ASCII, and not point into
// /bff/. An empty value means "/". It returns the value to redirect to, unchanged.
//
// Decoding twice closes the classic bypasses (/%2F%2Fevil.example, /%5Cevil.example) that a
// browser or an intermediary would decode once more; absolute URLs are never followed.
func CheckReturnTo(v string) (string, error) {
	if v == "" {
		return "/", nil
	}
	if len(v) > maxReturnTo {
		return "", errReturnTo
	}
	if !cleanPath(v) {
		return "", errReturnTo
	}
	once, err := url.PathUnescape(v)
	if err != nil || !cleanPath(once) {
		return "", errReturnTo
	}
	return v, nil
}

// cleanPath is the single-value rule of CheckReturnTo.
func cleanPath(v string) bool {
	if len(v) == 0 || v[0] != '/' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	if strings.Contains(v, "//") {
		return false
	}
	return !pointsIntoBFF(v)
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
