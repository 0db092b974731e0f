package config

import (
	"slices"
	"strings"
)

// corsSafelistedHeaders may be sent cross-origin WITHOUT a preflight (Fetch standard,
// "CORS-safelisted request-header"): as the CSRF header they would let any site forge
// API calls.
var corsSafelistedHeaders = []string{"accept", "accept-language", "content-language", "content-type", "range"}

// unusableCSRFHeaders cannot serve as the CSRF header: browsers refuse to let scripts
// set them (Fetch "forbidden request-header"), or the BFF and proxies rewrite them.
var unusableCSRFHeaders = []string{
	"accept-charset", "accept-encoding", "access-control-request-headers",
	"access-control-request-method", "authorization", "connection", "content-length",
	"cookie", "cookie2", "date", "dnt", "expect", "forwarded", "host", "keep-alive",
	"origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade",
	"via", "x-http-method", "x-http-method-override", "x-method-override",
}

func validateCSRF(c CSRF, ps *problems) {
	name := strings.ToLower(c.HeaderName)
	switch {
	case !isToken(c.HeaderName):
		ps.add("csrf.headerName", "%q is not a header name (an RFC 9110 token)", c.HeaderName)
	case slices.Contains(corsSafelistedHeaders, name):
		ps.add("csrf.headerName", "%q is CORS-safelisted: a cross-site page could send it without a preflight", c.HeaderName)
	case slices.Contains(unusableCSRFHeaders, name) || hasAnyPrefix(name, "sec-", "proxy-", "x-forwarded-"):
		ps.add("csrf.headerName", "%q is reserved: browsers forbid scripts to set it, or proxies rewrite it", c.HeaderName)
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
