// Package demoop is a real, in-process OpenID provider for `bff demo` and for the BFF's
// tests. The protocol is github.com/zitadel/oidc/v3/pkg/op (an OpenID-certified OP
// library); this package adds the storage, the login page and the test hooks. Its storage,
// client and login page are adapted from that library's example/server
// (https://github.com/zitadel/oidc, Apache-2.0, Copyright The zitadel/oidc Contributors).
//
// # The flow
//
//  1. Discovery (/.well-known/openid-configuration) is the library's metadata, trimmed to
//     what the clients can use, plus RFC 9207 authorization_response_iss_parameter_supported.
//  2. /authorize (library) validates client, redirect_uri, scopes and response_type;
//     storage.CreateAuthRequest additionally requires PKCE with S256 and response_mode
//     query or fragment, and stores the request; the library redirects to
//     /login?authRequestID=….
//  3. /login shows the form. A valid OP session cookie (single sign-on) skips it unless
//     prompt=login or max_age ask for a fresh login; prompt=none without a session answers
//     login_required. A right password starts an OP session (a new sid) and redirects to
//     /authorize/callback; a wrong one shows the form again with an error.
//  4. /authorize/callback (library) issues the code (one per request) and redirects to the
//     client; every authorization response redirected to a registered redirect URI,
//     success or error, gets the RFC 9207 iss parameter (added by this package: the
//     library does not implement RFC 9207).
//  5. /oauth/token (library, client_secret_basic or client_secret_post; answers carry
//     Cache-Control: no-store, added here) exchanges the code
//     (single use: a replay revokes what the code issued) for a JWT access token, an ID
//     token (nonce, sid, name/email with the profile/email scopes) and, with
//     offline_access, a refresh token. A refresh grant rotates: the presented token is
//     spent and a new one issued; presenting a spent token again revokes the whole grant
//     (token family) and answers invalid_grant; with Config.RefreshGracePeriod a spent
//     token still redeems for that long after its rotation.
//  6. /revoke (RFC 7009), /userinfo, /oauth/introspect (RFC 7662) and /keys (JWKS) are the
//     library's, backed by the storage.
//  7. /end_session (library) verifies id_token_hint and post_logout_redirect_uri, then the
//     OP session of the hint's sid and of the browser's cookie ends (their grants are
//     revoked) and the browser goes back to the post-logout URI with state.
//
// Test hooks: Stats counts grants, reuse, revocations and logouts; SetTokenEndpointStatus
// simulates an outage; SignJWT and LogoutToken mint tokens signed by the OP's key;
// RotateSigningKey switches to a new key at once (published the same instant);
// BackchannelLogout logs a user out everywhere and notifies the clients; LoginHeadless
// signs in without a browser.
//
// Concurrency: an OP is safe for concurrent use; all state lives in the OP instance
// (nothing package-level but the parsed page template), so tests may run many OPs in
// parallel.
//
// Security notes: the OP is for demos and tests. Its users' plain-text passwords are
// shown on the login page, and it MUST NOT be given real credentials or be exposed
// beyond loopback (an http issuer is refused on any other host). Tokens, codes and
// session cookies are stored under their SHA-256 and never logged. zitadel/oidc logs
// request errors through slog.Default, which this package does not change.
package demoop
