package config

import (
	"net/url"
	"strings"
)

// callbackPath is the redirect URI's path (GET /bff/callback).
const callbackPath = "/bff/callback"

// RedirectURL is the OAuth redirect URI to register at the IdP: server.publicURL +
// "/bff/callback".
func (c Config) RedirectURL() string {
	return strings.TrimSuffix(c.Server.PublicURL, "/") + callbackPath
}

// PostLogoutURL is the absolute post_logout_redirect_uri to register at the IdP:
// server.publicURL + oidc.postLogoutRedirect ("/" when unset).
func (c Config) PostLogoutURL() string {
	p := c.OIDC.PostLogoutRedirect
	if p == "" {
		p = "/"
	}
	return strings.TrimSuffix(c.Server.PublicURL, "/") + p
}

// Embedded reports whether sessions live in the in-process store (session.store "" or
// "embedded"): lost on restart and not shared between replicas.
func (c Config) Embedded() bool {
	return c.Session.Store == "" || c.Session.Store == "embedded"
}

// AllowHTTPIssuer reports whether the relying party may talk to the issuer over plain
// http: oidc.allowInsecureIssuer is set, or the issuer's host is loopback (localhost,
// 127.0.0.0/8, ::1), which Validate accepts without the flag. Pass it as
// idp.Config.AllowInsecureIssuer so `bff check`, `bff serve` and Validate agree.
func (c Config) AllowHTTPIssuer() bool {
	if c.OIDC.AllowInsecureIssuer {
		return true
	}
	u, err := url.Parse(c.OIDC.Issuer)
	return err == nil && isLoopbackHost(u.Hostname())
}
