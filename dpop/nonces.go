package dpop

import (
	"net/http"
	"strings"
	"sync"
)

// maxNonceLen bounds a nonce a server hands out; a longer one is ignored (RFC 9449 §8:
// nonces are short opaque strings, and every later proof carries it).
const maxNonceLen = 512

// maxNonceOrigins bounds how many servers' nonces are remembered: upstreams and the
// provider are configured, so a handful; the bound only keeps a misbehaving setup finite.
const maxNonceOrigins = 1024

// Nonces remembers the latest DPoP-Nonce each server (by origin) handed out, so that the
// next proof to it carries the nonce at once instead of being refused first. Safe for
// concurrent use; the zero value is ready.
type Nonces struct {
	mu sync.Mutex
	m  map[string]string
}

// Get is the latest nonce of origin, "" if none.
func (n *Nonces) Get(origin string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[origin]
}

// Remember keeps the DPoP-Nonce of h (a server's response headers) for origin, if it has
// a usable one, and reports whether it did.
func (n *Nonces) Remember(origin string, h http.Header) bool {
	v := h.Get("DPoP-Nonce")
	if !validNonce(v) {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[string]string{}
	}
	if _, known := n.m[origin]; !known && len(n.m) >= maxNonceOrigins {
		clear(n.m)
	}
	n.m[origin] = v
	return true
}

// validNonce: a nonce is 1*NQCHAR (RFC 9449 §8.1: printable ASCII but '"' and '\').
func validNonce(v string) bool {
	if v == "" || len(v) > maxNonceLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// IsNonceChallenge reports whether resp asks for a (new) nonce: a 401 whose
// WWW-Authenticate has the DPoP scheme with error="use_dpop_nonce" (a resource server,
// RFC 9449 §9), or a 400 with error use_dpop_nonce in its body (an authorization server,
// §8; the caller reads the body and passes bodyError), each with a DPoP-Nonce header.
func IsNonceChallenge(status int, h http.Header, bodyError string) bool {
	if !validNonce(h.Get("DPoP-Nonce")) {
		return false
	}
	switch status {
	case http.StatusBadRequest:
		return bodyError == "use_dpop_nonce"
	case http.StatusUnauthorized:
		for _, v := range h.Values("WWW-Authenticate") {
			if hasDPoPNonceError(v) {
				return true
			}
		}
	}
	return false
}

// hasDPoPNonceError reads a WWW-Authenticate value: a DPoP challenge whose error
// parameter is use_dpop_nonce (quoted or not). Parameters are split on commas, which is
// exact for the values RFC 9449 defines (none holds a comma but error_description, whose
// text is never taken for a parameter unless it spells one out).
func hasDPoPNonceError(v string) bool {
	scheme, params, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "DPoP") {
		return false
	}
	for p := range strings.SplitSeq(params, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(name), "error") &&
			strings.Trim(strings.TrimSpace(value), `"`) == "use_dpop_nonce" {
			return true
		}
	}
	return false
}
