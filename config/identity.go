package config

import "strings"

// IdentityHeaders names the request headers that carry the signed-in user's identity to
// an upstream (routes[].identityHeaders) or back to the ingress (server.forwardAuthHeaders).
// An empty name sends nothing for that value.
type IdentityHeaders struct {
	// User carries the subject (the ID token's sub): stable and unique at the IdP.
	User string `yaml:"user"`
	// Email carries the email claim, when the IdP gave one.
	Email string `yaml:"email"`
	// PreferredUsername carries the preferred_username claim, when the IdP gave one. It
	// is a display name, not a key: the IdP may let users change it.
	PreferredUsername string `yaml:"preferredUsername"`
}

// Names returns the configured (non-empty) names.
func (h IdentityHeaders) Names() []string {
	var out []string
	for _, n := range []string{h.User, h.Email, h.PreferredUsername} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// reservedHeaders may never carry identity: the credentials and the host, the framing
// and hop-by-hop headers, and the forwarding headers the BFF sets itself. Compared in
// lower case with "_" read as "-" (CGI-style upstreams fold X_Forwarded_For into
// X-Forwarded-For).
var reservedHeaders = []string{
	"authorization", "cookie", "set-cookie", "host", "content-length", "content-type",
	"transfer-encoding", "connection", "keep-alive", "proxy-authenticate",
	"proxy-authorization", "proxy-connection", "te", "trailer", "upgrade", "forwarded",
	"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
}

// validateIdentity checks server.forwardAuthHeaders and every routes[].identityHeaders.
func validateIdentity(c Config, ps *problems) {
	validateIdentityHeaders(c.Server.ForwardAuthHeaders, "server.forwardAuthHeaders", ps)
	for i, r := range c.Routes {
		p := indexPath("routes", i) + ".identityHeaders"
		validateIdentityHeaders(r.IdentityHeaders, p, ps)
		if r.Auth == "none" && len(r.IdentityHeaders.Names()) > 0 {
			ps.add(p, "needs auth required or optional: a route with auth none never knows the user")
		}
	}
}

// validateIdentityHeaders: each name an RFC 9110 token, not reserved, and the names of
// one set distinct (ignoring case).
func validateIdentityHeaders(h IdentityHeaders, path string, ps *problems) {
	seen := map[string]string{}
	for _, f := range []struct{ key, name string }{
		{"user", h.User}, {"email", h.Email}, {"preferredUsername", h.PreferredUsername},
	} {
		if f.name == "" {
			continue
		}
		p := path + "." + f.key
		folded := strings.ReplaceAll(strings.ToLower(f.name), "_", "-")
		switch {
		case !isToken(f.name):
			ps.add(p, "%q is not a header name (RFC 9110 token characters only)", f.name)
		case isReservedHeader(folded):
			ps.add(p, "%q is reserved: it may not carry identity (credentials, Host, hop-by-hop and forwarding headers)", f.name)
		case seen[folded] != "":
			ps.add(p, "%q is also %s.%s: each value needs its own header", f.name, path, seen[folded])
		default:
			seen[folded] = f.key
		}
	}
}

func isReservedHeader(folded string) bool {
	for _, r := range reservedHeaders {
		if folded == r {
			return true
		}
	}
	return false
}
