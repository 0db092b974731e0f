package bff

import (
	"context"
	"errors"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/metrics"
)

// countedIdP is one configured provider whose code and refresh grants count in
// bff_idp_token_requests_total{provider}. It embeds the relying party, so every other
// method (UserInfo, the route grants, logout) is the provider's own.
type countedIdP struct {
	*idp.Provider
	name string // the configured name; "" without oidc.providers
	m    *metrics.Metrics
}

// Exchange redeems a login's code and counts the request.
func (c countedIdP) Exchange(ctx context.Context, code string, ar idp.AuthRequest) (*idp.Tokens, *idp.Identity, error) {
	toks, ident, err := c.Provider.Exchange(ctx, code, ar)
	c.count(metrics.GrantCode, err)
	return toks, ident, err
}

// Refresh redeems a session's refresh token and counts the request.
func (c countedIdP) Refresh(ctx context.Context, refreshToken string) (*idp.Tokens, *idp.Identity, error) {
	toks, ident, err := c.Provider.Refresh(ctx, refreshToken)
	c.count(metrics.GrantRefresh, err)
	return toks, ident, err
}

// count records one grant's outcome. A provider not discovered yet made no request.
func (c countedIdP) count(grant string, err error) {
	switch {
	case err == nil:
		c.m.TokenRequest(c.name, grant, metrics.TokenOK)
	case errors.Is(err, idp.ErrNotReady):
	case idp.IsSessionEnding(err):
		c.m.TokenRequest(c.name, grant, metrics.TokenRefused)
	default:
		c.m.TokenRequest(c.name, grant, metrics.TokenError)
	}
}
