// Package idp is the BFF's relying party: everything Tokenward says to the OpenID
// provider (IdP). It is built on github.com/coreos/go-oidc/v3 (ID-token verification)
// and golang.org/x/oauth2 (authorization URL, PKCE, code exchange, refresh), with the
// gaps of both closed here (docs/security.md lists them).
//
// # Flow
//
//  1. New(cfg) validates the configuration and does no network I/O. Start(ctx) then
//     discovers the provider in the background, retrying with exponential backoff
//     (max ~30 s) until it succeeds; Ready reports whether it has. Discover makes one
//     attempt (used by `bff check`). A discovery fetches
//     /.well-known/openid-configuration, checks that its issuer is exactly Config.Issuer,
//     and fetches the JWKS once; only a complete, consistent result is published.
//  2. /bff/login: NewAuthRequest draws state, nonce (256 random bits each) and a PKCE
//     verifier; the handler seals them in the login cookie and redirects the browser to
//     AuthCodeURL (code_challenge_method=S256, nonce, scopes, and only the query
//     parameters Config.AuthParams allows).
//  3. /bff/callback: the handler checks state (constant time) and calls CheckIssuer
//     (RFC 9207 mix-up defence), then Exchange, which redeems the code with the verifier
//     and verifies the ID token: go-oidc checks signature, iss, aud and exp; this package
//     adds nonce (constant time), sub, iat (present, not in the future, no older than
//     Config.MaxTokenAge), azp and the refusal of extra audiences, and at_hash when
//     present. The token response itself must be of token_type Bearer (ErrTokenType
//     otherwise); its expires_in is believed up to MaxTokenLifetime, and absent or
//     non-positive counts as AssumedTokenLifetime.
//  4. Transparent refresh: Refresh redeems a refresh token ONCE (the client-auth style is
//     pinned, so x/oauth2 never retries with the other style and never replays a
//     rotating refresh token). ErrInvalidGrant means the session is over; ErrUnavailable
//     means the IdP did not answer usefully and the session must be kept. A client the
//     token endpoint refuses (invalid_client, unauthorized_client) also matches
//     ErrMisconfigured: no retry helps until an operator fixes a setting, and the error
//     names the settings (a wrong issuer or a 404 discovery document matches it too).
//  5. Logout: Revoke (RFC 7009) the refresh token, then send the browser to
//     EndSessionURL (RP-Initiated Logout 1.0). VerifyLogoutToken checks the logout tokens
//     that the IdP POSTs to /bff/backchannel-logout (Back-Channel Logout 1.0 §2.6); the
//     caller records their jti to refuse replays.
//
// # Remote reads
//
// Every request to the IdP goes through a client made by NewHTTPClient (or a copy of
// Config.HTTPClient hardened the same way): redirects are never followed (a 307 from a
// token endpoint would re-send the code and the client secret elsewhere), every
// response body is capped at MaxResponseBytes, and every request is bounded in time.
// The JWKS is cached; a token with an unknown key id is checked against a JWKS fetched
// after it arrived, so a key rotation is honoured on the first token that uses the new
// key. Fetches are shared by concurrent callers and paced (JWKSFetchBurst, then one per
// JWKSFetchInterval; a caller waits for the next allowed fetch rather than being
// refused), so a flood of forged tokens never becomes a flood on the IdP.
//
// # Secrets
//
// No error string or log line of this package contains a token, an authorization code,
// a PKCE verifier, a nonce, a state or the client secret. OAuth error answers are
// reduced to their HTTP status and error code (TokenError): an error_description may
// echo the token and is dropped.
//
// # Concurrency
//
// A *Provider is safe for concurrent use by any number of goroutines once New returns,
// including while Start's discovery runs; calls that need discovery return ErrNotReady
// until it has succeeded.
package idp
