// Package handler serves the BFF's own endpoints under /bff/ (login, callback, user,
// logout, back-channel logout, forward-auth), the admin probes, the request log and the
// one error renderer of the public listener, and it is the proxy's credential source:
// it turns a request's session cookie into the session's fresh access token.
//
// New takes a Config (what bff.New derives from config.Config) and Deps, whose provider,
// refresher and recorder are small interfaces (deps.go) that *idp.Provider,
// *refresh.Refresher and *metrics.Metrics implement; tests pass fakes. Mount puts the
// endpoints on an echo router (routes.go, one file per endpoint); MountClient adds the
// SPA client, /bff/client.js and /bff/client-config (clientjs.go).
//
// A login through the package:
//
//  1. GET /bff/login (login.go) passes the login rate limit (middleware.go: one budget
//     per client IP, kept in the store), checks returnTo (returnto.go: a same-origin path,
//     never /bff/, never a URL), asks the provider for a new authorization request (state,
//     nonce, PKCE verifier) and its URL (PAR when configured), and stores the pending
//     login, sealed and single use, under the state with Store.PutLogin. The pending login
//     also names the session the browser presented, if any, and whether it was silent
//     (prompt=none). The browser gets only a random handle in the __Host-bff-login cookie
//     (logincookie.go) and a 302 to the IdP; "started" is counted.
//  2. GET /bff/callback (callback.go) takes the pending login by its state with one of
//     this browser's handles (Store.TakeLogin: read and delete, so a replay or another
//     browser's callback finds nothing), then: an error answer either returns a silent
//     login to its returnTo with the bff_login marker or shows a page; the provider checks
//     RFC 9207 iss, exchanges the code with the verifier and verifies the ID token. The
//     session the browser presented at login and the one it presents now are deleted
//     (no fixation), a NEW id is made, the record saved (Store.Save, sealed under the
//     id's hash) and the __Host-bff cookie set (cookies.go: only the id, sealed by
//     securecookie). Every way out names its outcome (outcomes.go), which is counted.
//  3. GET /bff/user (user.go, CSRF-checked) answers the claims, the session's expiry and
//     a logout link carrying the session's own logout handle, never a token; POST /bff/logout and the GET link (logout.go) revoke the refresh
//     token, delete the session and hand its id hash to Deps.OnEnd, which cuts its live
//     streams; POST /bff/backchannel-logout (backchannel.go) does the same for the
//     sessions a verified logout token names, once per jti.
//
// A proxied request's use of the package:
//
//  1. Observe (observe.go), the outermost middleware, gives the request its id and one
//     access log line and metrics call when it ends (also when a stream's copy panics);
//     RejectH2C and the CSRF check (CheckCSRF, the csrf package's rule) come next.
//  2. The proxy calls Credentials for the request: a credential.Source bound to the
//     request and its response writer (current.go). Its Get reads the session cookie
//     (cookies.go: exactly one, at most 4 KiB, opened with the key ring; two cookies mean
//     no session), loads the record (one store round trip, or none within the read
//     cache's TTL) and hands it to the Refresher, which returns it fresh. The answer is a
//     credential of the record's token type (a bearer today) with the session's identity,
//     or credential.ErrNoSession, or a problem: refresh's domain errors become
//     problem+json here, once (refreshProblem). A cookie that names no live session is
//     cleared on the response (never on a cross-site request), one sealed by an older key
//     is re-sealed. After an upstream 401 the proxy asks the same source again with force:
//     it refreshes the record it handed out, or says credential.ErrNoRetry within the
//     forced-refresh cooldown.
//  3. Errors from every handler and from the proxy's token source reach errorHandler
//     (errors.go): problem+json for API calls, a small HTML page for navigations (a
//     pageError), never the error's text; the failure is logged without query or headers.
//
// Forward-auth (forwardauth.go) is the proxied request's path for an ingress: the same
// session lookup and refresh, with the credential set on the 200's headers, answered
// only to server.trustedProxies (trust.go, clientip's rule).
//
// Concurrency: *Handlers is safe for concurrent use; everything per request lives in the
// request (its context holds the log line's details, see reqInfo).
package handler
