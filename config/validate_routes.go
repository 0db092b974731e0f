package config

import (
	"net/url"
	"path"
	"slices"
	"strings"
)

// bffPrefix is where the BFF's own endpoints live; no route may shadow them.
const bffPrefix = "/bff/"

func validateRoutes(routes []Route, ps *problems) {
	paths := make(map[string]int, len(routes))
	names := make(map[string]int, len(routes))
	for i, r := range routes {
		p := indexPath("routes", i)
		validateRoute(r, p, ps)
		if j, dup := paths[r.Path]; dup && r.Path != "" {
			ps.add(p+".path", "duplicates routes[%d].path", j)
		} else {
			paths[r.Path] = i
		}
		if j, dup := names[r.Name]; dup && r.Name != "" {
			ps.add(p+".name", "duplicates routes[%d].name", j)
		} else {
			names[r.Name] = i
		}
	}
}

func validateRoute(r Route, p string, ps *problems) {
	if r.Name == "" {
		ps.add(p+".name", "is required (Load defaults it to the path)")
	}
	if msg := routePathProblem(r.Path); msg != "" {
		ps.add(p+".path", "%q: %s", r.Path, msg)
	}
	if r.Upstream == "" {
		ps.add(p+".upstream", "is required")
	} else if u, msg := webURLProblem(r.Upstream); msg != "" {
		ps.add(p+".upstream", "%s", msg)
	} else if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && !r.AllowInsecureUpstream {
		ps.add(p+".upstream", "plain http to the non-loopback host %q would carry the bearer in clear text: use https, "+
			"or set %s.allowInsecureUpstream: true if this hop is protected otherwise (same pod, a mesh with mTLS)", u.Hostname(), p)
	}
	if msg := stripPrefixProblem(r.StripPrefix, r.Path); msg != "" {
		ps.add(p+".stripPrefix", "%q: %s", r.StripPrefix, msg)
	}
	if !slices.Contains(routeAuths, r.Auth) {
		ps.add(p+".auth", "%q %s", r.Auth, oneOf(routeAuths...))
	}
	positive(p+".timeout", r.Timeout, ps)
	positive(p+".uploadIdleTimeout", r.UploadIdleTimeout, ps)
	if r.MaxRequestBody != nil && *r.MaxRequestBody < 0 {
		ps.add(p+".maxRequestBody", "must not be negative (bytes; 0 means no bound)")
	}
	validateRouteToken(r, p, ps)
	for i, m := range r.Methods {
		if !isToken(m) || m != strings.ToUpper(m) {
			ps.add(indexPath(p+".methods", i), "%q is not an upper-case HTTP method", m)
		}
	}
}

// routePathProblem: a clean prefix "/…/" of unreserved characters, neither "/" (that
// is the SPA's) nor under /bff/. Characters that mean something elsewhere are refused:
// "%" (encoded slashes and dots), ":" and "*" (echo's route parameters), "\".
func routePathProblem(p string) string {
	switch {
	case !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/"):
		return "must start and end with \"/\", e.g. /api/"
	case p == "/":
		return "must not be \"/\" (everything else is the SPA's)"
	case strings.HasPrefix(p, bffPrefix):
		return "must not be under /bff/ (the BFF's own endpoints)"
	case strings.Contains(p, "//") || strings.Contains(p, ".."):
		return "must be clean: no \"//\" and no \"..\""
	case !isRoutePathChars(p):
		return "may hold only letters, digits, - . _ ~ and /"
	case path.Clean(p)+"/" != p:
		return "must be clean: no \".\" segments"
	}
	return ""
}

func isRoutePathChars(p string) bool {
	for _, c := range []byte(p) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// stripPrefixProblem: empty, or a prefix of the route path ending at a segment boundary
// and without the trailing slash ("/api" for "/api/" or "/api/v1/").
func stripPrefixProblem(strip, routePath string) string {
	if strip == "" {
		return ""
	}
	if !strings.HasPrefix(strip, "/") || strings.HasSuffix(strip, "/") {
		return "must start with \"/\" and not end with one, e.g. /api"
	}
	if !strings.HasPrefix(routePath, strip+"/") {
		return "must be a prefix of the route's path (whole segments, without the trailing slash)"
	}
	return ""
}

func validateSPA(s SPA, ps *problems) {
	if s.Dir != "" && s.Upstream != "" {
		ps.add("spa", "set spa.dir or spa.upstream, not both")
	}
	if s.Upstream != "" {
		if _, msg := webURLProblem(s.Upstream); msg != "" {
			ps.add("spa.upstream", "%s", msg)
		}
	}
}

// validateRouteToken checks a route's own token: a resource (RFC 8707) with scopes, or a
// token exchange (RFC 8693); one of them at most, and neither on a route without a session.
func validateRouteToken(r Route, p string, ps *problems) {
	x := r.TokenExchange
	if r.Resource == "" && len(r.Scopes) > 0 {
		ps.add(p+".scopes", "needs %s.resource: scopes apply to a resource's token (or put them in %s.tokenExchange.scope)", p, p)
	}
	if r.Resource != "" && x.IsSet() {
		ps.add(p+".tokenExchange", "set %s.resource or %s.tokenExchange, not both", p, p)
	}
	if (r.Resource != "" || x.IsSet()) && r.Auth == "none" {
		ps.add(p+".auth", "is none, but the route asks for a token (resource or tokenExchange): remove one")
	}
	if msg := resourceProblem(r.Resource); msg != "" {
		ps.add(p+".resource", "%q: %s", r.Resource, msg)
	}
	for i, sc := range r.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\"\\") {
			ps.add(indexPath(p+".scopes", i), "%q is not a scope (no spaces, quotes or backslashes; one scope per entry)", sc)
		}
	}
	if !x.IsSet() {
		return
	}
	if strings.ContainsAny(x.Audience, " \t\n") {
		ps.add(p+".tokenExchange.audience", "%q must not contain spaces (one audience)", x.Audience)
	}
	if x.Audience == "" && x.Resource == "" {
		ps.add(p+".tokenExchange", "needs audience or resource: what the exchanged token is for")
	}
	if msg := resourceProblem(x.Resource); msg != "" {
		ps.add(p+".tokenExchange.resource", "%q: %s", x.Resource, msg)
	}
}

// resourceProblem: "" or an absolute URI without a fragment (RFC 8707 §2).
func resourceProblem(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		return "must be an absolute URI (RFC 8707), e.g. https://api.example.com/"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment (RFC 8707)"
	}
	return ""
}
