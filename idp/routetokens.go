package idp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// RFC 8693 identifiers.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// ErrTargetRefused: the token endpoint refused to issue a token for the resource,
// audience or scope asked for (invalid_target, invalid_scope, unsupported_grant_type,
// invalid_request; for a token exchange also invalid_grant), or issued something other
// than the access token asked for. The session itself is fine; the route cannot be served
// until the provider's or the BFF's settings change. It comes on top of ErrUnavailable.
var ErrTargetRefused = errors.New("idp: the provider refused the route's token request")

// refusedCodes are the OAuth error codes that refuse the target, not the session.
var refusedCodes = map[string]bool{
	"invalid_target": true, "invalid_scope": true, "unsupported_grant_type": true, "invalid_request": true,
}

// RefreshFor redeems refreshToken ONCE for an access token restricted to resource (RFC
// 8707 §2.2) and scopes ("" and nil: the provider's defaults). Like Refresh, the caller
// MUST serialise it with every other redemption of the session's refresh token: under
// strict rotation it rotates the refresh token, and Tokens.RefreshToken is the one to
// keep. An ID token in the answer is ignored: it adds nothing a route's token needs.
//
// With DPoP on, a Bearer (or untyped) answer is NOT an error: the grant spent the refresh
// token, so the answer is returned typed "Bearer" with the rotated one, and the caller
// must not send that access token for a DPoP session.
//
// Errors: as Refresh (ErrInvalidGrant ends the session), plus ErrTargetRefused.
func (p *Provider) RefreshFor(ctx context.Context, refreshToken, resource string, scopes []string) (*Tokens, error) {
	d, err := p.ready()
	if err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, fmt.Errorf("refresh for resource: %w: no refresh token", ErrInvalidGrant)
	}
	key, err := p.sessionKey(dpopKeyFrom(ctx))
	if err != nil {
		return nil, fmt.Errorf("refresh for resource: %w", err)
	}
	form := refreshForm(refreshToken)
	setIf(form, "resource", resource)
	setIf(form, "scope", strings.Join(scopes, " "))
	tok, err := p.tokenRequest(ctx, d, form, key)
	if err != nil {
		return nil, fmt.Errorf("refresh for resource: %w", refused(err, false))
	}
	out, err := p.newTokens(tok)
	if errors.Is(err, ErrNotDPoPBound) && checkTokenType(tok.TokenType) == nil {
		// A Bearer answer while DPoP is on: the token is not bound, yet the grant was
		// redeemed, and under strict rotation the refresh token it returns is the only
		// live one. Refusing the answer here would end the session over a route; keep it
		// typed Bearer instead: the session keeps the new refresh token, and the handler
		// refuses to send an unbound token for a DPoP session (502 token_refused).
		out, err = p.tokensOfType(tok, "Bearer"), nil
	}
	if err != nil {
		return nil, fmt.Errorf("refresh for resource: %w", err)
	}
	if out.RefreshToken == "" {
		out.RefreshToken = refreshToken
	}
	out.IDToken = ""
	return out, nil
}

// ExchangeToken exchanges subjectToken, an access token, for an access token meant for
// audience, scope and resource (RFC 8693 §2.1; "" leaves a parameter out). It spends no
// refresh token. A refresh token in the answer is dropped: the session's own is the one
// to keep.
//
// Errors: ErrNotReady; ErrTargetRefused (the provider refused the exchange, including
// invalid_grant: the subject token was not accepted, or the answer is not an RFC 8693
// access token); ErrInvalidToken wrapped as ErrTokenType (not a Bearer token);
// ErrUnavailable otherwise.
func (p *Provider) ExchangeToken(ctx context.Context, subjectToken, audience, scope, resource string) (*Tokens, error) {
	d, err := p.ready()
	if err != nil {
		return nil, err
	}
	if subjectToken == "" {
		return nil, fmt.Errorf("token exchange: %w: no subject token", ErrTargetRefused)
	}
	form := url.Values{
		"grant_type":           {GrantTypeTokenExchange},
		"subject_token":        {subjectToken},
		"subject_token_type":   {TokenTypeAccessToken},
		"requested_token_type": {TokenTypeAccessToken},
	}
	setIf(form, "audience", audience)
	setIf(form, "scope", scope)
	setIf(form, "resource", resource)
	// With DPoP the subject token is bound to the session's key: the exchange proves it,
	// and the token it issues is bound to the same key.
	key, err := p.sessionKey(dpopKeyFrom(ctx))
	if err != nil {
		return nil, fmt.Errorf("token exchange: %w", err)
	}
	tok, err := p.tokenRequest(ctx, d, form, key)
	if err != nil {
		return nil, fmt.Errorf("token exchange: %w", refused(err, true))
	}
	if tok.IssuedTokenType != TokenTypeAccessToken {
		// RFC 8693 §2.2.1: issued_token_type is REQUIRED; anything else (a JWT or an ID
		// token type) is not what the route may send as a bearer.
		return nil, fmt.Errorf("token exchange: %w: issued_token_type %q", ErrTargetRefused, sanitizeErrorCode(tok.IssuedTokenType))
	}
	out, err := p.newTokens(tok)
	if err != nil {
		return nil, fmt.Errorf("token exchange: %w", err)
	}
	out.RefreshToken, out.IDToken = "", ""
	return out, nil
}

// refused adds ErrTargetRefused to a token endpoint's OAuth error that refuses the
// target (and, for an exchange, to invalid_grant: the subject token was refused, which
// says nothing about the session's refresh token).
func refused(err error, exchange bool) error {
	var te *TokenError
	if !errors.As(err, &te) {
		return err
	}
	if refusedCodes[te.Code] || (exchange && te.Code == "invalid_grant") {
		return fmt.Errorf("%w: %w", ErrTargetRefused, err)
	}
	return err
}

func setIf(form url.Values, key, value string) {
	if value != "" {
		form.Set(key, value)
	}
}
