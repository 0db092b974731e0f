package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tokens is what the token endpoint issued. Every field but Expiry and TokenType is a
// secret: it MUST only be stored sealed and never logged.
type Tokens struct {
	// AccessToken is injected as a bearer into proxied API calls.
	AccessToken string
	// RefreshToken is the refresh token to keep: after Refresh, the new one when the
	// provider rotated it, else the one that was presented. "" when none was issued.
	RefreshToken string
	// IDToken is the raw, verified ID token ("" if a refresh returned none); keep it
	// for EndSessionURL's id_token_hint.
	IDToken string
	// TokenType is "Bearer", or "DPoP" when DPoP is on: a response of any other
	// token_type is refused (see checkTokenType), and the provider's spelling ("bearer",
	// absent) is normalised.
	TokenType string
	// DPoPKey is the session's DPoP key the access token is bound to (a private JWK; a
	// secret like the tokens), "" when DPoP is off. Exchange returns the login's key;
	// Refresh the one it was given (WithDPoPKey): a session keeps one key for its life.
	DPoPKey string
	// Expiry is when the access token expires: Config.Now + Lifetime.
	Expiry time.Time
	// Lifetime is the access token's whole life (see tokenLifetime): expires_in when it
	// is sane, AssumedTokenLifetime when it is absent or not positive, at most
	// MaxTokenLifetime. Never zero; the refresher caps its skew at half of it.
	Lifetime time.Duration
}

// Exchange redeems an authorization code (RFC 6749 §4.1.3) with ar's PKCE verifier,
// then verifies the ID token against ar's nonce (see verifyIDToken for every check)
// and returns the tokens and who logged in. The request is made once, with the
// configured client authentication only, and no redirect is followed.
//
// Errors: ErrNotReady; ErrInvalidGrant (code used, expired or not bound to this
// verifier); ErrInvalidToken (the ID token failed a check: the login MUST fail);
// ErrUnavailable (network, timeout, 5xx, redirect, other OAuth errors).
func (p *Provider) Exchange(ctx context.Context, code string, ar AuthRequest) (*Tokens, *Identity, error) {
	d, err := p.ready()
	if err != nil {
		return nil, nil, err
	}
	if err := ar.validate(); err != nil {
		return nil, nil, err
	}
	if code == "" {
		return nil, nil, fmt.Errorf("exchange: %w: empty authorization code", ErrInvalidGrant)
	}
	key, err := p.sessionKey(ar.DPoPKey)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: %w", err)
	}
	tok, err := p.tokenRequest(ctx, d, p.authCodeForm(code, ar.CodeVerifier), key)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: %w", err)
	}
	out, err := p.newTokens(tok)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: %w", err)
	}
	if key != nil {
		out.DPoPKey = ar.DPoPKey
	}
	id, err := p.verifyIDToken(ctx, d, out.IDToken, idTokenCheck{nonce: ar.Nonce, accessToken: out.AccessToken})
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: %w", err)
	}
	return out, id, nil
}

// Refresh redeems refreshToken ONCE (RFC 6749 §6): the client-auth style is pinned, so
// a failed request is never retried with the other style, which would replay a
// rotating refresh token. The caller MUST ensure a session refreshes once at a time
// (single-flight and the cross-replica lock): two refreshes of one rotating token make
// the provider revoke the whole token family.
//
// Tokens.RefreshToken is the token to keep (the new one when rotated). When the
// response carries an ID token it is verified like at login (no nonce) and its
// Identity returned; the caller MUST then check that Identity.Subject is the
// session's subject. Identity is nil when no ID token came back.
//
// Errors: ErrNotReady; ErrInvalidGrant (the refresh token is dead: end the session);
// ErrUnavailable (keep the session, retry later); ErrInvalidToken (the returned ID
// token failed a check, or the new access token is not a Bearer token, ErrTokenType:
// end the session). A non-Bearer answer ends the session rather than being retried:
// the provider has already spent (and may have rotated) the refresh token, so another
// attempt would replay a dead refresh token or repeat a grant on every request.
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (*Tokens, *Identity, error) {
	d, err := p.ready()
	if err != nil {
		return nil, nil, err
	}
	if refreshToken == "" {
		return nil, nil, fmt.Errorf("refresh: %w: no refresh token", ErrInvalidGrant)
	}
	raw := dpopKeyFrom(ctx)
	key, err := p.sessionKey(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	tok, err := p.tokenRequest(ctx, d, refreshForm(refreshToken), key)
	if err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	out, err := p.newTokens(tok)
	if err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	if key != nil {
		out.DPoPKey = raw
	}
	if out.RefreshToken == "" {
		out.RefreshToken = refreshToken
	}
	if out.IDToken == "" {
		return out, nil, nil
	}
	id, err := p.verifyIDToken(ctx, d, out.IDToken, idTokenCheck{accessToken: out.AccessToken})
	if err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	return out, id, nil
}

// ErrTokenType: the token endpoint issued an access token of another token_type than the
// BFF asked for: with DPoP off anything but Bearer (e.g. DPoP, RFC 9449, or MAC: a
// sender-constrained token sent as a bearer would be refused by the API, or worse,
// accepted by one that does not check the binding); with DPoP on anything but DPoP (a
// Bearer answer means the provider ignored the proof: the token is not bound). It wraps
// ErrInvalidToken: the login fails, a refresh ends the session.
var ErrTokenType = fmt.Errorf("%w: unexpected token_type", ErrInvalidToken)

// ErrNotDPoPBound: DPoP is on and the provider answered another token_type (Bearer): it
// ignored the proof, so the token is not bound. It wraps ErrTokenType.
var ErrNotDPoPBound = fmt.Errorf("%w: not DPoP-bound", ErrTokenType)

// Access token lifetimes the BFF assumes or allows (see tokenLifetime).
const (
	// AssumedTokenLifetime is the access token's life when the token endpoint gives no
	// usable expires_in (absent, zero or negative).
	AssumedTokenLifetime = 5 * time.Minute
	// MaxTokenLifetime caps expires_in: the BFF refreshes at least this often, so a
	// session riding on a very long-lived access token still learns within a day that
	// the provider revoked its refresh token (the refresh answers invalid_grant).
	MaxTokenLifetime = 24 * time.Hour
)

// newTokens checks a token response: it refuses a token_type other than Bearer,
// normalises the type, and computes Lifetime and Expiry with the injected clock.
func (p *Provider) newTokens(tok *tokenResponse) (*Tokens, error) {
	typ := "Bearer"
	check := checkTokenType
	if p.cfg.DPoP {
		typ, check = "DPoP", checkDPoPTokenType
	}
	if err := check(tok.TokenType); err != nil {
		return nil, err
	}
	return p.tokensOfType(tok, typ), nil
}

// tokensOfType is the Tokens of a checked response, of token type typ, with Lifetime and
// Expiry computed with the injected clock.
func (p *Provider) tokensOfType(tok *tokenResponse, typ string) *Tokens {
	out := &Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: tok.IDToken, TokenType: typ}
	secs, given := tok.ExpiresIn, tok.ExpiresGiven
	if given && secs <= 0 {
		p.cfg.Logger.Warn("token response has a non-positive expires_in; assuming the default lifetime",
			"expires_in", secs, "assumed", AssumedTokenLifetime)
	}
	out.Lifetime = tokenLifetime(secs)
	out.Expiry = p.cfg.Now().Add(out.Lifetime)
	return out
}

// checkTokenType accepts token_type Bearer in any case (RFC 6749 §5.1: the value is
// case-insensitive). An absent token_type (REQUIRED by RFC 6749 §5.1, yet omitted by a
// few providers) counts as Bearer, as most clients read it: a provider
// issuing sender-constrained tokens always says so (RFC 9449 §5: token_type DPoP).
func checkTokenType(typ string) error {
	if typ == "" || strings.EqualFold(typ, "Bearer") {
		return nil
	}
	// The value is the provider's: logged only when it looks like a type name.
	return fmt.Errorf("token response: %w (token_type %q)", ErrTokenType, sanitizeErrorCode(typ))
}

// checkDPoPTokenType accepts only token_type DPoP (RFC 9449 §5; case-insensitive). A
// Bearer (or absent) type means the provider did not bind the token to the proof's key.
func checkDPoPTokenType(typ string) error {
	if strings.EqualFold(typ, "DPoP") {
		return nil
	}
	return fmt.Errorf("token response: %w (token_type %q while oidc.dpop is on: the provider ignored the DPoP proof; "+
		"enable DPoP-bound access tokens for this client at the provider, or turn oidc.dpop off)",
		ErrNotDPoPBound, sanitizeErrorCode(typ))
}

// tokenLifetime applies the one rule for expires_in: a positive value is believed up
// to MaxTokenLifetime; absent, zero or negative means "unknown" and
// AssumedTokenLifetime is used. A token cannot already be expired when it is issued,
// and believing so would refresh before every request (a grant each time); if the
// token really dies sooner, the upstream's 401 triggers one forced refresh and a retry.
func tokenLifetime(secs int64) time.Duration {
	switch {
	case secs <= 0:
		return AssumedTokenLifetime
	case secs >= int64(MaxTokenLifetime/time.Second): // compared in seconds: no overflow
		return MaxTokenLifetime
	default:
		return time.Duration(secs) * time.Second
	}
}

// IsSessionEnding reports whether err means the session MUST end (the refresh token
// is dead, or the provider returned an ID token that failed verification), as
// opposed to a transient failure after which the session is kept.
func IsSessionEnding(err error) bool {
	return errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrInvalidToken)
}
