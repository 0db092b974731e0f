package demoop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// CreateAccessToken implements op.AuthStorage: a code exchange without offline_access.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	ar, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType().WithParent(errUnsupportedRequest)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.newGrantLocked(ar, now)
	if err != nil {
		return "", time.Time{}, err
	}
	at := s.newAccessTokenLocked(g, ar.scopes, now)
	s.stats.authCodeGrants.Add(1)
	return at.id, at.expires, nil
}

// CreateAccessAndRefreshTokens implements op.AuthStorage: a code exchange with
// offline_access (a new grant), or a refresh_token grant (a rotation).
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	switch r := req.(type) {
	case *authRequest:
		return s.issueForCode(r)
	case *refreshRequest:
		return s.rotate(r, current)
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithParent(errUnsupportedRequest)
}

func (s *storage) issueForCode(ar *authRequest) (string, string, time.Time, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.newGrantLocked(ar, now)
	if err != nil {
		return "", "", time.Time{}, err
	}
	at := s.newAccessTokenLocked(g, ar.scopes, now)
	refresh := s.newRefreshTokenLocked(g, now)
	s.stats.authCodeGrants.Add(1)
	return at.id, refresh, at.expires, nil
}

// rotate redeems the refresh token current: it is marked rotated (never valid again) and a
// new access and refresh token are issued under the same grant. Reuse is detected here too,
// for two requests that both passed TokenRequestByRefreshToken with the same token.
func (s *storage) rotate(r *refreshRequest, current string) (string, string, time.Time, error) {
	now := s.now()
	s.mu.Lock()
	rt, g, err := s.liveRefreshLocked(hashSecret(current), now)
	if err != nil {
		s.mu.Unlock()
		s.logRefreshFailure(g, err)
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
	}
	defer s.mu.Unlock()
	if !rt.rotated {
		rt.rotated, rt.rotatedAt = true, now
	}
	at := s.newAccessTokenLocked(g, r.scopes, now)
	refresh := s.newRefreshTokenLocked(g, now)
	s.stats.refreshGrants.Add(1)
	return at.id, refresh, at.expires, nil
}

// TokenRequestByRefreshToken implements op.AuthStorage. An already rotated token is a
// reuse: the whole grant is revoked and the request fails (the library answers
// invalid_grant).
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	now := s.now()
	s.mu.Lock()
	_, g, err := s.liveRefreshLocked(hashSecret(token), now)
	if err != nil {
		s.mu.Unlock()
		s.logRefreshFailure(g, err)
		return nil, err
	}
	defer s.mu.Unlock()
	return &refreshRequest{grant: *g, scopes: g.scopes}, nil
}

// liveRefreshLocked returns a redeemable refresh token and its grant. On reuse it revokes
// the grant and returns it with errRefreshTokenReused. s.mu MUST be held.
func (s *storage) liveRefreshLocked(hash string, now time.Time) (*refreshToken, *grant, error) {
	rt, ok := s.refreshTokens[hash]
	if !ok {
		return nil, nil, fmt.Errorf("refresh token: %w", errNotFound)
	}
	g, ok := s.grants[rt.grantID]
	if !ok {
		return nil, nil, fmt.Errorf("refresh token: %w", errNotFound)
	}
	if rt.rotated && (s.grace <= 0 || now.Sub(rt.rotatedAt) >= s.grace) {
		s.revokeGrantLocked(g.id)
		s.stats.refreshReuseDetected.Add(1)
		return nil, g, errRefreshTokenReused
	}
	if g.revoked {
		return nil, nil, fmt.Errorf("refresh token: %w", errRevoked)
	}
	if now.After(rt.expires) {
		return nil, nil, fmt.Errorf("refresh token: %w", errExpired)
	}
	return rt, g, nil
}

// logRefreshFailure logs a detected reuse; called without s.mu (a grant's ids never
// change, so reading them is safe).
func (s *storage) logRefreshFailure(g *grant, err error) {
	if g != nil && errors.Is(err, errRefreshTokenReused) {
		s.log.Warn("demoop: refresh token reuse detected; token family revoked",
			slog.String("client_id", g.clientID), slog.String("sub", g.subject), slog.String("sid", g.sid))
	}
}

// newGrantLocked starts the token family of one code exchange. s.mu MUST be held.
func (s *storage) newGrantLocked(ar *authRequest, now time.Time) (*grant, error) {
	g := &grant{
		id:       rand.Text(),
		clientID: ar.clientID,
		subject:  ar.subject,
		sid:      ar.sid,
		scopes:   ar.scopes,
		authTime: ar.authTime,
		amr:      ar.GetAMR(),
		expires:  now,
	}
	s.collectLocked(now)
	if err := s.claimCodeLocked(ar, g.id); err != nil {
		return nil, err
	}
	s.grants[g.id] = g
	return g, nil
}

// newAccessTokenLocked records a JWT access token (the library signs it with the
// returned id as jti). s.mu MUST be held.
func (s *storage) newAccessTokenLocked(g *grant, scopes []string, now time.Time) *accessToken {
	at := &accessToken{
		id:      rand.Text(),
		grantID: g.id,
		scopes:  append([]string(nil), scopes...),
		expires: now.Add(s.accessTTL),
	}
	s.accessTokens[at.id] = at
	g.expires = later(g.expires, at.expires)
	return at
}

// newRefreshTokenLocked returns a new opaque refresh token; only its hash is kept.
// s.mu MUST be held.
func (s *storage) newRefreshTokenLocked(g *grant, now time.Time) string {
	raw := rand.Text() + rand.Text()
	rt := &refreshToken{hash: hashSecret(raw), grantID: g.id, expires: now.Add(s.refreshTT)}
	s.refreshTokens[rt.hash] = rt
	g.expires = later(g.expires, rt.expires)
	return raw
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
