package config

import (
	"slices"
	"strings"
	"time"
)

// reservedAuthParams are authorization request parameters the BFF sets itself. Passing
// one through from /bff/login would let a crafted login link replace it (redirect_uri
// to steal the code, state or code_challenge to defeat CSRF and PKCE protection).
var reservedAuthParams = []string{
	"client_assertion", "client_assertion_type", "client_id", "client_secret", "code",
	"code_challenge", "code_challenge_method", "code_verifier", "grant_type", "iss",
	"nonce", "redirect_uri", "registration", "request", "request_uri", "response_mode",
	"response_type", "scope", "state",
}

// maxTokenAgeLimit caps oidc.maxTokenAge: a logout token's jti is remembered at most 24h,
// so an older token accepted by age could be replayed once its jti is forgotten.
const maxTokenAgeLimit = 24 * time.Hour

func validateOIDC(o OIDC, ps *problems) {
	validateRegistration(o, ps)
	validateSharedOIDC(o, ps)
}

// validateRegistration checks the keys of one provider's registration (those an
// oidc.providers entry may set), under oidc.* paths.
func validateRegistration(o OIDC, ps *problems) {
	if msg := issuerProblem(o.Issuer, o.AllowInsecureIssuer); msg != "" {
		ps.add("oidc.issuer", "%s", msg)
	}
	if o.ClientID == "" {
		ps.add("oidc.clientID", "is required")
	}
	validateClientAuth(o, ps)
	switch {
	case o.DPoPAlgorithm == "RS256":
		// The key is made at /bff/login, which anyone may call: an RSA key costs about
		// 100 ms of CPU, so RS256 would let an anonymous visitor burn the BFF's CPU.
		ps.add("oidc.dpopAlgorithm", "RS256 is refused: a session's key is made at every /bff/login, "+
			"and an RSA key costs ~100 ms of CPU an anonymous visitor could make the BFF spend; "+
			"use ES256 (the default, listed by every DPoP provider) or EdDSA")
	case !slices.Contains(dpopAlgorithms, o.DPoPAlgorithm):
		ps.add("oidc.dpopAlgorithm", "%q %s", o.DPoPAlgorithm, oneOf(dpopAlgorithms...))
	}
	if o.UserInfo && o.DPoP {
		// A DPoP-bound access token needs a proof at the UserInfo endpoint too, which the
		// BFF does not send there (yet): every fetch would fail.
		ps.add("oidc.userInfo", "is not supported together with oidc.dpop: turn one of them off")
	}
	validateScopes(o.Scopes, ps)
	validateAuthParams(o.AuthParams, ps)
}

// validateSharedOIDC checks the keys every provider shares (set once, in the oidc block).
func validateSharedOIDC(o OIDC, ps *problems) {
	positive("oidc.refreshSkew", o.RefreshSkew, ps)
	positive("oidc.forcedRefreshCooldown", o.ForcedRefreshCooldown, ps)
	positive("oidc.httpTimeout", o.HTTPTimeout, ps)
	if o.MaxTokenAge <= 0 || o.MaxTokenAge > maxTokenAgeLimit {
		ps.add("oidc.maxTokenAge", "must be a positive duration of at most %s, e.g. 5m", maxTokenAgeLimit)
	}
	if msg := localPathProblem(o.PostLogoutRedirect); msg != "" {
		ps.add("oidc.postLogoutRedirect", "%s", msg)
	}
}

// issuerProblem: an absolute URL without query or fragment (OpenID Connect Discovery
// 1.0 §3), https unless allowInsecure is set or the host is loopback.
func issuerProblem(raw string, allowInsecure bool) string {
	if raw == "" {
		return "is required: the OpenID provider's issuer URL"
	}
	u, msg := webURLProblem(raw)
	if msg != "" {
		return msg
	}
	if u.Scheme != "https" && !allowInsecure && !isLoopbackHost(u.Hostname()) {
		return "must use https (oidc.allowInsecureIssuer permits http, for demos and tests only)"
	}
	return ""
}

func validateScopes(scopes []string, ps *problems) {
	if !slices.Contains(scopes, "openid") {
		ps.add("oidc.scopes", "must contain openid")
	}
	for i, s := range scopes {
		if !isScopeToken(s) {
			ps.add(indexPath("oidc.scopes", i), "%q is not a scope token (printable ASCII, no space, \" or \\)", s)
		}
	}
}

// isScopeToken: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s string) bool {
	return isPrintableASCII(s) && s != "" && !strings.ContainsAny(s, `"\`)
}

func validateAuthParams(params []string, ps *problems) {
	for i, p := range params {
		path := indexPath("oidc.authParams", i)
		switch {
		case !isParamName(p):
			ps.add(path, "%q is not a parameter name (letters, digits, _ - .)", p)
		case slices.Contains(reservedAuthParams, strings.ToLower(p)):
			ps.add(path, "%q is set by the BFF itself and must not be passed through", p)
		}
	}
}

func isParamName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-.", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// validateClientAuth: the client has exactly the credential its tokenEndpointAuth uses
// (a secret for client_secret_*, a private key for private_key_jwt): a leftover of the
// other kind is refused rather than silently unused.
func validateClientAuth(o OIDC, ps *problems) {
	if !slices.Contains(tokenEndpointAuths, o.TokenEndpointAuth) {
		ps.add("oidc.tokenEndpointAuth", "%q %s", o.TokenEndpointAuth, oneOf(tokenEndpointAuths...))
		return
	}
	if o.TokenEndpointAuth == "private_key_jwt" {
		if o.ClientKey == "" {
			ps.add("oidc.clientKey", "%s (tokenEndpointAuth is private_key_jwt; `bff keygen --client-key` makes one)",
				requiredSecret("oidc.clientKeyFile", o.ClientKeyFile))
		} else if msg := privateKeyProblem(o.ClientKey); msg != "" {
			ps.add("oidc.clientKey", "%s", msg)
		} else if msg := clientCertProblem(o.ClientCert, o.ClientKey, time.Now()); msg != "" {
			ps.add("oidc.clientCert", "%s", msg)
		}
		if !slices.Contains(assertionAudiences, o.ClientAssertionAudience) {
			ps.add("oidc.clientAssertionAudience", "%q %s", o.ClientAssertionAudience, oneOf(assertionAudiences...))
		}
		if o.ClientSecret != "" {
			ps.add("oidc.clientSecret", "is set but tokenEndpointAuth is private_key_jwt: remove it (or its file)")
		}
		return
	}
	if o.ClientSecret == "" {
		ps.add("oidc.clientSecret", "%s", requiredSecret("oidc.clientSecretFile", o.ClientSecretFile))
	}
	if o.ClientKey != "" || o.ClientKeyID != "" {
		ps.add("oidc.clientKey", "is set but tokenEndpointAuth is %s: set tokenEndpointAuth: private_key_jwt, or remove the key", o.TokenEndpointAuth)
	}
	if o.ClientCert != "" {
		ps.add("oidc.clientCert", "is set but tokenEndpointAuth is %s: set tokenEndpointAuth: private_key_jwt, or remove the certificate", o.TokenEndpointAuth)
	}
}
