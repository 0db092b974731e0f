package idp

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tokenward/bff/dpop"
)

// Token endpoint client authentication methods (OpenID Connect Core §9).
const (
	AuthStyleBasic = "client_secret_basic"
	AuthStylePost  = "client_secret_post"
)

// DefaultClockSkew is the iat/exp tolerance when Config.ClockSkew is zero.
const DefaultClockSkew = 60 * time.Second

// DefaultMaxTokenAge is the oldest iat accepted (beyond ClockSkew) when
// Config.MaxTokenAge is zero. ID tokens are minted in the token response, and logout
// tokens are posted when the IdP session ends: a token older than this has been kept
// somewhere and replayed, or the provider's clock is badly wrong.
const DefaultMaxTokenAge = 5 * time.Minute

// defaultScopes are requested when Config.Scopes is empty (docs/configuration.md, oidc.scopes).
var defaultScopes = []string{"openid", "profile", "email", "offline_access"}

// reservedAuthParams are authorization request parameters the BFF sets itself: they
// MUST NOT be passed through from /bff/login, or a link could swap the redirect URI,
// the PKCE challenge, the response mode, etc.
var reservedAuthParams = []string{
	"response_type", "response_mode", "client_id", "client_secret", "redirect_uri",
	"scope", "state", "nonce", "code_challenge", "code_challenge_method",
	"code_verifier", "code", "grant_type", "request", "request_uri", "registration",
}

// Config configures a Provider. Zero values take the documented defaults.
type Config struct {
	// Issuer is the OpenID provider's issuer URL, compared EXACTLY (trailing slash
	// included) with the discovery document's and the tokens' iss. Required; https
	// unless AllowInsecureIssuer.
	Issuer string
	// ClientID and ClientSecret of the BFF's confidential client. ClientSecret is
	// required for the client_secret_* styles and refused with private_key_jwt.
	ClientID, ClientSecret string
	// ClientKey signs the client assertions of AuthStylePrivateKeyJWT (RSA of 2048 bits
	// or more: RS256; ECDSA P-256: ES256; Ed25519: EdDSA). Required with that style,
	// refused with the others. ClientKeyID is its kid; "" means its RFC 7638 thumbprint.
	ClientKey   crypto.Signer
	ClientKeyID string
	// ClientCert, optional with private_key_jwt, is an X.509 certificate of ClientKey's
	// public key, registered at the provider (Microsoft Entra ID's "certificate
	// credentials"): the assertion header then also names it by its thumbprints, x5t#S256
	// and x5t. It must match ClientKey and be valid now.
	ClientCert *x509.Certificate
	// ClientAssertionAudience is the aud of the client assertions: AssertionAudienceIssuer
	// ("issuer", the default) or AssertionAudienceTokenEndpoint ("tokenEndpoint", the
	// discovered token endpoint URL, which Entra ID requires).
	ClientAssertionAudience string
	// Scopes requested at login; must contain "openid". Default: openid profile email offline_access.
	Scopes []string
	// AuthStyle is how the client authenticates at the token, revocation and PAR
	// endpoints: "client_secret_basic" (default), "client_secret_post" or
	// "private_key_jwt". It is NEVER auto-detected: auto-detection retries a failed
	// request with another style, which would replay a rotating refresh token.
	AuthStyle string
	// RedirectURL is publicURL + "/bff/callback". Required, absolute http(s).
	RedirectURL string
	// PostLogoutRedirectURL is where the IdP sends the browser after RP-initiated
	// logout. Optional; when set it MUST be absolute and on RedirectURL's origin.
	PostLogoutRedirectURL string
	// AuthParams allowlists the /bff/login query parameters copied to the authorization
	// request (e.g. prompt, login_hint, acr_values, ui_locales). Parameters the BFF sets
	// itself (redirect_uri, state, scope, response_mode, …) are refused.
	AuthParams []string
	// HTTPClient talks to the IdP. nil means NewHTTPClient(Timeout). A non-nil client is
	// copied and hardened: redirects refused, bodies capped at MaxResponseBytes.
	HTTPClient *http.Client
	// Timeout bounds each request to the IdP. Default DefaultTimeout (10 s).
	Timeout time.Duration
	// ClockSkew is the tolerance on iat (future) and exp (past). Default 60 s.
	ClockSkew time.Duration
	// MaxTokenAge is the oldest iat an ID token (at login and at refresh) or a logout
	// token may carry: one older than MaxTokenAge + ClockSkew is refused, whatever its
	// exp. Default DefaultMaxTokenAge (5 minutes).
	MaxTokenAge time.Duration
	// AllowInsecureIssuer permits http:// issuer and endpoints. Loopback demos and tests
	// only: it MUST NOT be set in production.
	AllowInsecureIssuer bool
	// PushedAuthorization sends the authorization request's parameters to the provider's
	// PAR endpoint (RFC 9126) first, so that they never travel through the browser. PAR
	// is used anyway when the provider requires it.
	PushedAuthorization bool
	// DPoP binds the session's tokens to a key pair the BFF holds per session (RFC 9449):
	// every token request carries a proof of that key, and the access token must come
	// back with token_type DPoP. DPoPAlgorithm is the keys' algorithm, ES256 ("")
	// or EdDSA; RS256 is refused (a key is made at each login). See docs/tokens.md, "DPoP".
	DPoP          bool
	DPoPAlgorithm string
	// UserInfo makes UserInfo fetch the provider's UserInfo endpoint (which discovery
	// then requires); off, UserInfo returns no claims.
	UserInfo bool
	// ObserveUserInfo is told every UserInfo fetch's outcome (UserInfoOutcomes). Default: nothing.
	ObserveUserInfo func(outcome string)
	// Now is the clock used for every token time check. Default time.Now.
	Now func() time.Time
	// Logger receives discovery and key-set events, never a token or secret. Default: discard.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with every zero value replaced by its default.
func (c Config) withDefaults() Config {
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(defaultScopes)
	}
	if c.AuthStyle == "" {
		c.AuthStyle = AuthStyleBasic
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.MaxTokenAge == 0 {
		c.MaxTokenAge = DefaultMaxTokenAge
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ClientAssertionAudience == "" {
		c.ClientAssertionAudience = AssertionAudienceIssuer
	}
	if c.ClientKey != nil && c.ClientKeyID == "" {
		c.ClientKeyID, _ = ClientKeyID(c.ClientKey) // a key it cannot read is refused by validate
	}
	if c.DPoP && c.DPoPAlgorithm == "" {
		c.DPoPAlgorithm = dpop.ES256
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ObserveUserInfo == nil {
		c.ObserveUserInfo = func(string) {}
	}
	return c
}

// validate lists every problem of c (after withDefaults), or returns nil. Messages name
// fields, never their secret values.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := c.checkURL(c.Issuer, c.AllowInsecureIssuer); err != nil {
		bad("Issuer: %w", err)
	}
	if c.ClientID == "" {
		bad("ClientID is required")
	}
	errs = append(errs, c.clientAuthProblems()...)
	if !slices.Contains(c.Scopes, "openid") {
		bad("Scopes must contain openid")
	}
	redirect, err := url.Parse(c.RedirectURL)
	if err == nil {
		err = c.checkURL(c.RedirectURL, true)
	}
	if err != nil {
		bad("RedirectURL: %w", err)
	}
	if c.PostLogoutRedirectURL != "" {
		if err := c.checkPostLogout(redirect); err != nil {
			bad("PostLogoutRedirectURL: %w", err)
		}
	}
	for _, name := range c.AuthParams {
		if name == "" || slices.Contains(reservedAuthParams, name) {
			bad("AuthParams: %q is set by the BFF itself and cannot be passed through", name)
		}
	}
	if c.DPoP && (!slices.Contains(dpop.Supported(), c.DPoPAlgorithm) || c.DPoPAlgorithm == dpop.RS256) {
		// RS256 keys stay readable (dpop.ParseKey) but are never made per login: an RSA
		// key costs ~100 ms of CPU on an endpoint an anonymous visitor can call.
		bad("DPoPAlgorithm must be %s or %s (RS256 is refused: a key is made at every login), got %q",
			dpop.ES256, dpop.EdDSA, c.DPoPAlgorithm)
	}
	if c.Timeout < 0 || c.ClockSkew < 0 || c.MaxTokenAge < 0 {
		bad("Timeout, ClockSkew and MaxTokenAge must not be negative")
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

// checkURL requires an absolute http(s) URL without fragment; http only if allowHTTP.
func (c Config) checkURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Host == "":
		return errors.New("must be an absolute URL")
	case u.Scheme != "https" && !(u.Scheme == "http" && allowHTTP):
		return fmt.Errorf("scheme %q not allowed (https required)", u.Scheme)
	case u.Fragment != "" || u.User != nil:
		return errors.New("must have no fragment and no user info")
	}
	return nil
}

// checkPostLogout requires PostLogoutRedirectURL on the origin of redirect.
func (c Config) checkPostLogout(redirect *url.URL) error {
	if err := c.checkURL(c.PostLogoutRedirectURL, true); err != nil {
		return err
	}
	u, _ := url.Parse(c.PostLogoutRedirectURL)
	if redirect == nil || u.Scheme != redirect.Scheme || u.Host != redirect.Host {
		return errors.New("must be on the same origin as RedirectURL")
	}
	return nil
}

// clientAuthProblems checks that the client has exactly the credential its AuthStyle uses.
func (c Config) clientAuthProblems() []error {
	var errs []error
	switch c.AuthStyle {
	case AuthStyleBasic, AuthStylePost:
		if c.ClientSecret == "" {
			errs = append(errs, errors.New("ClientSecret is required with "+c.AuthStyle+" (the BFF is a confidential client)"))
		}
		if c.ClientKey != nil || c.ClientCert != nil {
			errs = append(errs, errors.New("ClientKey or ClientCert is set but AuthStyle is "+c.AuthStyle+": use private_key_jwt, or drop the key"))
		}
	case AuthStylePrivateKeyJWT:
		if c.ClientKey == nil {
			errs = append(errs, errors.New("ClientKey is required with private_key_jwt"))
		} else if _, err := ClientKeyAlgorithm(c.ClientKey); err != nil {
			errs = append(errs, fmt.Errorf("ClientKey: %w", err))
		} else if c.ClientCert != nil {
			if err := CheckClientCert(c.ClientCert, c.ClientKey, c.Now()); err != nil {
				errs = append(errs, fmt.Errorf("ClientCert: %w", err))
			}
		}
		if c.ClientAssertionAudience != AssertionAudienceIssuer && c.ClientAssertionAudience != AssertionAudienceTokenEndpoint {
			errs = append(errs, fmt.Errorf("ClientAssertionAudience must be %s or %s, got %q",
				AssertionAudienceIssuer, AssertionAudienceTokenEndpoint, c.ClientAssertionAudience))
		}
		if c.ClientSecret != "" {
			errs = append(errs, errors.New("ClientSecret is set but AuthStyle is private_key_jwt: drop the secret"))
		}
	default:
		errs = append(errs, fmt.Errorf("AuthStyle must be %s, %s or %s, got %q",
			AuthStyleBasic, AuthStylePost, AuthStylePrivateKeyJWT, c.AuthStyle))
	}
	return errs
}
