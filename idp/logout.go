package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Revoke revokes refreshToken at the provider's revocation endpoint (RFC 7009) with
// token_type_hint=refresh_token and the configured client authentication, once, no
// redirect followed. It is a no-op (nil) when the provider advertises no revocation
// endpoint. Errors: ErrNotReady; ErrUnavailable (wrapping a *TokenError for an OAuth
// error answer). Revocation is best effort: the caller deletes the session either way.
func (p *Provider) Revoke(ctx context.Context, refreshToken string) error {
	d, err := p.ready()
	if err != nil {
		return err
	}
	if d.meta.RevocationEndpoint == "" || refreshToken == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := p.revocationRequest(ctx, d.meta.RevocationEndpoint, refreshToken)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, readErr := readBody(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil // RFC 7009 §2.2: 200 also for tokens already invalid
	}
	if readErr != nil {
		return fmt.Errorf("revoke: %w: %w", ErrUnavailable, readErr)
	}
	var oauthErr struct {
		Code string `json:"error"`
	}
	_ = json.Unmarshal(body, &oauthErr) // a non-JSON body leaves Code empty
	return fmt.Errorf("revoke: %w", newTokenError(resp.StatusCode, oauthErr.Code))
}

// revocationRequest builds the RFC 7009 POST, authenticating the client like the
// token endpoint (see authenticate).
func (p *Provider) revocationRequest(ctx context.Context, endpoint, token string) (*http.Request, error) {
	return p.clientRequest(ctx, endpoint, url.Values{"token": {token}, "token_type_hint": {"refresh_token"}})
}

// clientRequest is a form POST to one of the provider's back-channel endpoints
// (revocation, PAR), with the client authenticated as at the token endpoint.
func (p *Provider) clientRequest(ctx context.Context, endpoint string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, err
	}
	if err := p.authenticate(req, form); err != nil {
		return nil, err
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// EndSessionURL returns the provider's end_session_endpoint for RP-Initiated Logout
// 1.0 with id_token_hint (when idTokenHint is not empty), post_logout_redirect_uri
// (when configured), client_id and state (when not empty); query parameters already in
// the endpoint are kept. ok is false before discovery or when the provider advertises
// no end_session_endpoint: the caller then just redirects to its own post-logout page.
func (p *Provider) EndSessionURL(idTokenHint, state string) (string, bool) {
	d := p.state.Load()
	if d == nil || d.meta.EndSessionEndpoint == "" {
		return "", false
	}
	u, err := url.Parse(d.meta.EndSessionEndpoint)
	if err != nil {
		return "", false // checked at discovery: cannot happen
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if p.cfg.PostLogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", p.cfg.PostLogoutRedirectURL)
	}
	q.Set("client_id", p.cfg.ClientID)
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}
