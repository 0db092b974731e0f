package demoop

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// opClient adapts a Client to op.Client: a confidential web application that may only run
// the authorization code flow (with PKCE S256, enforced in storage.CreateAuthRequest) and
// the refresh_token grant, and receives JWT access tokens.
//
// Adapted from zitadel/oidc example/server/storage/client.go
// (Apache-2.0, Copyright The zitadel/oidc Contributors).
type opClient struct {
	Client
	loginPath string
}

var _ op.Client = (*opClient)(nil)

func (c *opClient) GetID() string                    { return c.ID }
func (c *opClient) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.Client.PostLogoutRedirectURIs }
func (c *opClient) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *opClient) AuthMethod() oidc.AuthMethod {
	if c.PublicKey != nil {
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic
}
func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// LoginURL is where the library sends the browser after it stored an auth request.
func (c *opClient) LoginURL(authRequestID string) string {
	return c.loginPath + "?" + url.Values{loginParamRequestID: {authRequestID}}.Encode()
}
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *opClient) IDTokenLifetime() time.Duration      { return idTokenLifetime }

// DevMode stays off: no glob redirect URIs, no http redirect URIs beyond what the library
// allows a confidential code-flow client.
func (c *opClient) DevMode() bool { return false }
func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *opClient) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts name and email into the ID token even though an
// access token is issued alongside (what the BFF reads at the callback).
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *opClient) ClockSkew() time.Duration             { return 0 }
