package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
)

// MaxUserInfoBytes caps a UserInfo answer: its claims go into the session record, which
// every request reads, so it is bounded far below MaxResponseBytes.
const MaxUserInfoBytes = 64 << 10

// Outcomes of a UserInfo fetch (Config.ObserveUserInfo).
const (
	UserInfoOK = "ok"
	// UserInfoSubMismatch: the answer names another subject than the session's (OIDC Core
	// §5.3.2): it is ignored, as a token substitution or a provider bug would be.
	UserInfoSubMismatch = "sub_mismatch"
	// UserInfoUnsupported: a signed or encrypted answer (application/jwt), which the BFF
	// does not read: register the client for plain JSON UserInfo responses.
	UserInfoUnsupported = "unsupported"
	// UserInfoError: no usable answer (network, timeout, status, size, not JSON, no sub).
	UserInfoError = "error"
)

// UserInfoOutcomes lists every outcome ObserveUserInfo is told, for the metrics' label set.
func UserInfoOutcomes() []string {
	return []string{UserInfoOK, UserInfoSubMismatch, UserInfoUnsupported, UserInfoError}
}

// Errors of UserInfo. Each wraps ErrUnavailable too: the tokens are fine, only the
// claims could not be refreshed; callers keep the claims they had.
var (
	ErrUserInfoSubject     = fmt.Errorf("%w: userinfo names another subject", ErrUnavailable)
	ErrUserInfoUnsupported = fmt.Errorf("%w: userinfo answered application/jwt (signed or encrypted), which is not supported", ErrUnavailable)
)

// protocolClaims are never taken from a UserInfo answer: they describe a token or the
// authentication (OIDC Core §2, §5.3.2), which UserInfo does not speak for; sub is the
// session's already, and aggregated or distributed claims (§5.6.2) are not fetched.
var protocolClaims = []string{
	"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "auth_time", "acr", "amr", "azp",
	"at_hash", "c_hash", "sid", "jti", "cnf", "_claim_names", "_claim_sources",
}

// UserInfo fetches the provider's UserInfo endpoint (OIDC Core §5.3) with toks' access
// token and returns its claims, protocol claims left out, when the answer names subject.
// It returns nil, nil when Config.UserInfo is off. A failure is logged (without any token)
// and counted (Config.ObserveUserInfo) here, so that callers only decide to keep their
// claims: it never fails a login or a refresh. Errors wrap ErrUnavailable (and one of
// ErrUserInfoSubject, ErrUserInfoUnsupported), or ErrNotReady.
func (p *Provider) UserInfo(ctx context.Context, toks *Tokens, subject string) (map[string]any, error) {
	if !p.cfg.UserInfo {
		return nil, nil
	}
	d, err := p.ready()
	if err != nil {
		return nil, err
	}
	claims, err := p.fetchUserInfo(ctx, d.meta.UserInfoEndpoint, toks.AccessToken, subject)
	outcome := userInfoOutcome(err)
	p.cfg.ObserveUserInfo(outcome)
	if err != nil {
		p.cfg.Logger.Warn("idp: userinfo not used; the session keeps its claims",
			"issuer", p.cfg.Issuer, "outcome", outcome, "err", err.Error())
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	return claims, nil
}

func userInfoOutcome(err error) string {
	switch {
	case err == nil:
		return UserInfoOK
	case errors.Is(err, ErrUserInfoSubject):
		return UserInfoSubMismatch
	case errors.Is(err, ErrUserInfoUnsupported):
		return UserInfoUnsupported
	default:
		return UserInfoError
	}
}

// fetchUserInfo GETs endpoint with the bearer token (RFC 6750 §2.1: never in the query)
// and reads the JSON answer, at most MaxUserInfoBytes.
func (p *Provider) fetchUserInfo(ctx context.Context, endpoint, accessToken, subject string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: userinfo answered HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch media {
	case "application/json":
	case "application/jwt":
		return nil, ErrUserInfoUnsupported
	default:
		return nil, fmt.Errorf("%w: userinfo answered content type %q, not application/json", ErrUnavailable, media)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxUserInfoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading userinfo: %w", ErrUnavailable, err)
	}
	if len(body) > MaxUserInfoBytes {
		return nil, fmt.Errorf("%w: userinfo answer larger than %d bytes", ErrUnavailable, MaxUserInfoBytes)
	}
	return userInfoClaims(body, subject)
}

// userInfoClaims decodes a UserInfo answer, checks its sub and keeps its other claims
// but the protocol ones.
func userInfoClaims(body []byte, subject string) (map[string]any, error) {
	var all map[string]any
	if err := json.Unmarshal(body, &all); err != nil || all == nil {
		return nil, fmt.Errorf("%w: userinfo answer is not a JSON object", ErrUnavailable)
	}
	sub, _ := all["sub"].(string)
	switch {
	case sub == "":
		return nil, fmt.Errorf("%w: userinfo answer has no sub", ErrUnavailable)
	case sub != subject:
		return nil, ErrUserInfoSubject
	}
	for k, v := range all {
		if v == nil || slices.Contains(protocolClaims, k) {
			delete(all, k)
		}
	}
	return all, nil
}

// UserInfoSource fetches a provider's UserInfo claims; *Provider implements it.
type UserInfoSource interface {
	UserInfo(ctx context.Context, toks *Tokens, subject string) (map[string]any, error)
}

// WithUserInfo is claims with src's UserInfo claims for subject laid over them
// (MergeClaims), when src is a UserInfoSource with UserInfo on. A failed fetch (logged
// and counted by UserInfo) keeps claims: the tokens are fine, and a login or a refresh
// must not fail for want of fresher claims.
func WithUserInfo(ctx context.Context, src any, toks *Tokens, subject string, claims map[string]any) map[string]any {
	u, ok := src.(UserInfoSource)
	if !ok {
		return claims
	}
	fresh, err := u.UserInfo(ctx, toks, subject)
	if err != nil {
		return claims
	}
	return MergeClaims(claims, fresh)
}

// MergeClaims is the claims a session shows after new ones arrived (a refreshed ID token,
// a UserInfo answer): old with next laid over it. A claim next leaves out is kept: an
// absent claim is no statement that it changed. old is never written to (cached copies
// of a record share it); old itself is returned when next is empty.
func MergeClaims(old, next map[string]any) map[string]any {
	if len(next) == 0 {
		return old
	}
	merged := maps.Clone(old)
	if merged == nil {
		merged = make(map[string]any, len(next))
	}
	maps.Copy(merged, next)
	return merged
}
