package handler

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tokenward/bff/clientip"
)

// ParseTrustedProxies turns server.trustedProxies (CIDRs or single IPs) into prefixes,
// normalized by clientip.ParsePrefixes (IPv4-mapped entries become IPv4).
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	t, err := clientip.ParsePrefixes(list)
	if err != nil {
		return nil, fmt.Errorf("handler: %w", err)
	}
	return t.Prefixes(), nil
}

// fromTrustedProxy reports whether r arrived directly from a configured proxy, the only
// case in which its X-Forwarded-* / X-Original-URL headers say anything true (a browser
// can send them too: oauth2-proxy's trusted X-Forwarded-Uri was an open redirect).
func (h *Handlers) fromTrustedProxy(r *http.Request) bool {
	return clientip.FromPrefixes(h.cfg.TrustedProxies).IsTrustedPeer(r)
}

// originalRequest is the method and URI of the request an ingress is asking about, from
// X-Forwarded-Method / X-Forwarded-Uri (Traefik, ingress-nginx) or X-Original-URL /
// X-Original-Method (ingress-nginx), and only from a trusted proxy. ok is false otherwise.
func (h *Handlers) originalRequest(r *http.Request) (method, uri string, ok bool) {
	if !h.fromTrustedProxy(r) {
		return "", "", false
	}
	method = firstNonEmpty(r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Original-Method"))
	uri = r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		if u := r.Header.Get("X-Original-URL"); u != "" {
			if pu, err := parseRequestURI(u); err == nil {
				uri = pu
			}
		}
	}
	return method, uri, uri != ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseRequestURI keeps the path and query of an absolute or origin-form URL.
func parseRequestURI(u string) (string, error) {
	if strings.HasPrefix(u, "/") {
		return u, nil
	}
	i := strings.Index(u, "://")
	if i < 0 {
		return "", fmt.Errorf("not a URL")
	}
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "/", nil
	}
	return rest[j:], nil
}
