package idp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
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
	// TokenType is the access token type, "Bearer" when the provider omitted it.
	TokenType string
	// Expiry is when the access token expires, computed from expires_in with
	// Config.Now; zero when the provider did not say.
	Expiry time.Time
	// Lifetime is the access token's whole life as the provider stated it (expires_in),
	// zero when it did not; the refresher caps its skew at half of it.
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
	rctx, cancel := p.withClient(ctx)
	defer cancel()
	tok, err := d.oauth.Exchange(rctx, code, oauth2.VerifierOption(ar.CodeVerifier))
	if err != nil {
		return nil, nil, classifyTokenErr("exchange", err)
	}
	out := p.newTokens(tok)
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
// token failed a check: end the session).
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (*Tokens, *Identity, error) {
	d, err := p.ready()
	if err != nil {
		return nil, nil, err
	}
	if refreshToken == "" {
		return nil, nil, fmt.Errorf("refresh: %w: no refresh token", ErrInvalidGrant)
	}
	rctx, cancel := p.withClient(ctx)
	defer cancel()
	// An empty access token makes the reuse source refresh at once; nothing is reused.
	tok, err := d.oauth.TokenSource(rctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, nil, classifyTokenErr("refresh", err)
	}
	out := p.newTokens(tok)
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

// newTokens converts an x/oauth2 token, computing Expiry with the injected clock.
func (p *Provider) newTokens(tok *oauth2.Token) *Tokens {
	out := &Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.Type()}
	if raw, ok := tok.Extra("id_token").(string); ok {
		out.IDToken = raw
	}
	switch {
	case tok.ExpiresIn > 0:
		out.Lifetime = time.Duration(tok.ExpiresIn) * time.Second
		out.Expiry = p.cfg.Now().Add(out.Lifetime)
	case !tok.Expiry.IsZero():
		out.Expiry = tok.Expiry // form-encoded answers: x/oauth2 computed it
		out.Lifetime = tok.Expiry.Sub(p.cfg.Now())
	default:
		// No expires_in (it is only RECOMMENDED, RFC 6749 §5.1): assume a short life rather
		// than refreshing before every request; an upstream 401 forces a refresh anyway.
		out.Expiry = p.cfg.Now().Add(AssumedTokenLifetime)
	}
	return out
}

// AssumedTokenLifetime is the access token's life when the token endpoint gives none.
const AssumedTokenLifetime = 5 * time.Minute

// IsSessionEnding reports whether err means the session MUST end (the refresh token
// is dead, or the provider returned an ID token that failed verification), as
// opposed to a transient failure after which the session is kept.
func IsSessionEnding(err error) bool {
	return errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrInvalidToken)
}
