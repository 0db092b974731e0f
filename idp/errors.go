package idp

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Callers match them with errors.Is; every error this package returns
// wraps at most one of ErrNotReady, ErrIssuerMismatch, ErrInvalidToken, ErrInvalidGrant
// and ErrUnavailable, plus a precise reason meant for logs (never for the browser).
// ErrMisconfigured may come on top of any of them: it marks the failures no retry can
// cure until an operator fixes a setting.
var (
	// ErrInvalidConfig: New was given a configuration it cannot work with.
	ErrInvalidConfig = errors.New("idp: invalid configuration")
	// ErrNotReady: discovery has not succeeded yet (Ready wraps the last attempt's error).
	ErrNotReady = errors.New("idp: provider not discovered yet")
	// ErrIssuerMismatch: an issuer differs from Config.Issuer (discovery document, or the
	// RFC 9207 iss parameter of an authorization response).
	ErrIssuerMismatch = errors.New("idp: issuer mismatch")
	// ErrInvalidToken: an ID token or logout token failed a check. The wrapped reason
	// names the check, never the token.
	ErrInvalidToken = errors.New("idp: invalid token")
	// ErrInvalidGrant: the token endpoint answered invalid_grant (code already used or
	// expired, refresh token revoked or expired). A refresh that fails so ends the session.
	ErrInvalidGrant = errors.New("idp: invalid grant")
	// ErrUnavailable: the IdP gave no usable answer (network error, timeout, 5xx, a
	// redirect, an oversized or unreadable body, or an OAuth error other than
	// invalid_grant such as invalid_client). A session MUST be kept on this error.
	ErrUnavailable = errors.New("idp: provider unavailable")
	// ErrMisconfigured: the IdP answered, and the answer says the BFF's settings (or the
	// client's registration at the IdP) are wrong: the discovery document names another
	// issuer or does not exist (404), or the token endpoint refuses the client
	// (invalid_client, unauthorized_client). Waiting does not help, so users are told the
	// sign-in is misconfigured rather than asked to try again, and the message names the
	// setting to fix. It comes on top of the sentinel the caller acts on (a session is
	// still kept on a refresh that fails so: fixing the setting lets it continue).
	ErrMisconfigured = errors.New("idp: misconfigured")
)

// errRedirectRefused is what NewHTTPClient's CheckRedirect answers: a redirect from the
// IdP is never followed. It is classified as ErrUnavailable.
var errRedirectRefused = errors.New("idp: the provider answered with a redirect, which is never followed")

// errResponseTooLarge: a response body exceeded MaxResponseBytes.
var errResponseTooLarge = fmt.Errorf("idp: response body larger than %d bytes", MaxResponseBytes)

// TokenError is an OAuth 2.0 error answer (RFC 6749 §5.2, RFC 7009 §2.2.1) from the
// token or revocation endpoint, reduced to what is safe to log: the HTTP status and the
// error code. error_description and error_uri are dropped on purpose (some providers
// echo the presented token in them), and so is the body.
//
// It unwraps to ErrInvalidGrant when Code is "invalid_grant", else to ErrUnavailable.
type TokenError struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Code is the RFC 6749 "error" value, "" when absent, "(malformed)" when it held
	// characters RFC 6749 does not allow or was longer than 64 bytes.
	Code string
}

func (e *TokenError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("idp: endpoint answered HTTP %d", e.Status)
	}
	msg := fmt.Sprintf("idp: endpoint answered HTTP %d, error %q", e.Status, e.Code)
	if e.clientRefused() {
		msg += clientRefusedHint
	}
	return msg
}

// clientRefusedHint names the settings an operator fixes when the IdP refuses the client.
const clientRefusedHint = ": the IdP refused this client; check oidc.clientID, " +
	"oidc.clientSecret (or oidc.clientSecretFile; oidc.clientKeyFile for private_key_jwt) and oidc.tokenEndpointAuth " +
	"against the client's registration at the IdP"

// clientRefused reports an answer that blames the client's identity or registration
// (RFC 6749 §5.2), not the grant: no retry helps until a setting changes.
func (e *TokenError) clientRefused() bool {
	return e.Code == "invalid_client" || e.Code == "unauthorized_client"
}

// Is makes a refused client match ErrMisconfigured as well as what Unwrap says.
func (e *TokenError) Is(target error) bool {
	return target == ErrMisconfigured && e.clientRefused()
}

// Unwrap maps the answer to the sentinel the caller acts on.
func (e *TokenError) Unwrap() error {
	if e.Code == "invalid_grant" {
		return ErrInvalidGrant
	}
	return ErrUnavailable
}

// newTokenError builds a TokenError from a status and an untrusted error code.
func newTokenError(status int, code string) *TokenError {
	return &TokenError{Status: status, Code: sanitizeErrorCode(code)}
}

// sanitizeErrorCode keeps code only if it is a plausible RFC 6749 error code
// (NQSCHAR: %x20-21 / %x23-5B / %x5D-7E), at most 64 bytes.
func sanitizeErrorCode(code string) string {
	if len(code) > 64 {
		return "(malformed)"
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "(malformed)"
		}
	}
	return code
}

// statusError describes a non-2xx answer to a GET (discovery, JWKS) without its body.
func statusError(what string, resp *http.Response) error {
	return fmt.Errorf("%s: %w: HTTP %d", what, ErrUnavailable, resp.StatusCode)
}

// discoveryStatusError is statusError for the discovery document. A 404 or 410 means the
// server is up but serves no document there: oidc.issuer is wrong (a missing realm or
// tenant path, a typo), which no retry cures.
func discoveryStatusError(resp *http.Response) error {
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return fmt.Errorf("discovery: %w: %w: no discovery document at %s (HTTP %d): "+
			"check oidc.issuer, which must be the issuer exactly as the IdP names it",
			ErrMisconfigured, ErrUnavailable, resp.Request.URL.Redacted(), resp.StatusCode)
	}
	return statusError("discovery", resp)
}
